"""An automation's email outbox: mailed by a job after the step's transaction commits, one sender per
workspace and outbox at a time (an advisory lock), each row marked ``sending`` (committed) before its mail
goes out and ``sent`` right after the server accepted it, then counted once in the usage ledger. An
automation (a subclass of :class:`Outbox`) says which rows may go now and how one is delivered."""

from __future__ import annotations

import hashlib
import smtplib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import select, update

from saas.automation.runs import writable
from saas.billing.usage import record_usage
from saas.db import TenantSession, db
from saas.mail import smtp_connection


def _lock_key(session: TenantSession, name: uuid.UUID) -> int:
    digest = hashlib.sha256(f"{session.tenant.schema_name}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def sender_lock(session: TenantSession, name: uuid.UUID) -> Iterator[bool]:
    """Whether this process is the only sender named ``name`` in the workspace; held on a connection of
    its own (so the sender's commits do not release it)."""
    with db.engine.connect() as connection:
        key = _lock_key(session, name)
        held = connection.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
        connection.commit()
        try:
            yield bool(held)
        finally:
            if held:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                connection.commit()


def claim_outbox(session: TenantSession, outbox: Any, size: int, *where: Any) -> list[Any]:
    """Mark up to ``size`` rows of an outbox table (:class:`saas.automation.models.OutboxColumns`)
    ``sending`` and commit; returns them. ``where``: further conditions on the rows taken."""
    # Rows left ``sending`` by a dead sender are taken again: holding the lock, we are the only sender,
    # and their mail was never accepted (but for the instant between the server's 250 and our commit).
    due = (
        select(outbox.id)
        .where(outbox.status.in_(("queued", "sending")), *where)
        .order_by(outbox.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    ids = session.scalars(
        update(outbox)
        .where(outbox.id.in_(due.scalar_subquery()))
        .values(status="sending", attempts=outbox.attempts + 1)
        .returning(outbox.id)
    ).all()
    session.commit()
    return list(session.scalars(select(outbox).where(outbox.id.in_(ids)).order_by(outbox.id)))


class WorkspaceSmtp:
    """The workspace's SMTP connection for one job: opened on first use, closed when the job ends."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._smtp: smtplib.SMTP | None = None

    def __call__(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._stack.enter_context(smtp_connection())
        return self._smtp


@dataclass(frozen=True)
class Sending:
    """One run of the outbox's job as the automation sees it: which rows it may take now (``where``) and
    what it read once for delivering them (``context``)."""

    where: tuple[Any, ...] = ()
    context: Any = None


class Outbox:
    """An automation's outbox plugged into the engine's sender."""

    module: ClassVar[str]
    """The module's key: the periodic sweep visits workspaces with it on."""
    emails: ClassVar[Any]
    """The outbox model (:class:`saas.automation.models.OutboxColumns`)."""
    send_job: ClassVar[str]
    """The RQ path of the module's ``send_queued`` (stored in Redis: it must keep working)."""
    sender: ClassVar[uuid.UUID]
    """The advisory lock's name (with the schema): one sender of this outbox per workspace."""
    batch_size: ClassVar[int] = 100
    """Rows claimed (marked ``sending`` and committed) at a time."""
    usage_subject: ClassVar[str]
    """The usage ledger's subject prefix (``<prefix>:<email id>``), which makes each email count once."""
    connect_first: ClassVar[bool] = False
    """Open the SMTP connection before claiming rows: mail that always goes through it stays queued,
    unclaimed, while the server is unreachable."""
    delivery_errors: ClassVar[tuple[type[BaseException], ...]] = (smtplib.SMTPException,)
    """What marks one email ``failed`` (anything else fails the job, the row is taken again later)."""

    def sending(self, session: TenantSession) -> Sending | None:
        """Which rows may go now; None when none may (nothing to send them through)."""
        return Sending()

    def deliver(
        self, session: TenantSession, sending: Sending, email: Any, smtp: WorkspaceSmtp
    ) -> str | None:
        """Mail one claimed row; returns why it was skipped instead (it is not sent)."""
        raise NotImplementedError

    def error_text(self, error: BaseException) -> str:
        """The row's ``last_error`` after a delivery error (a code or a class, no address)."""
        return f"SMTP {getattr(error, 'smtp_code', None) or type(error).__name__}"

    def queue_sending(self, session: TenantSession) -> None:
        """Mail what the outbox holds, in a job (queued now: the caller has committed)."""
        model = self.emails
        if session.scalar(select(model.id).where(model.status.in_(("queued", "sending"))).limit(1)):
            from saas.jobs import enqueue_for_tenant

            enqueue_for_tenant(session.tenant.id, self.send_job)

    def mark(self, session: TenantSession, email_id: int, **values: Any) -> None:
        session.execute(update(self.emails).where(self.emails.id == email_id).values(**values))
        session.commit()

    def send_queued(self, session: TenantSession, batch_size: int | None = None) -> dict[str, int]:
        """Job body: mail every queued email, ``batch_size`` rows claimed at a time."""
        batch_size = batch_size or self.batch_size
        if not writable(session):
            return {"skipped": 1}
        sending = self.sending(session)
        if sending is None:
            return {"skipped": 1}
        sent = failed = 0
        with sender_lock(session, self.sender) as held, ExitStack() as stack:
            if not held:
                return {"sent": 0, "busy": 1}
            smtp = WorkspaceSmtp(stack)
            if self.connect_first:
                smtp()
            while batch := claim_outbox(session, self.emails, batch_size, *sending.where):
                for email in batch:
                    try:
                        skipped = self.deliver(session, sending, email, smtp)
                    except self.delivery_errors as error:
                        session.rollback()
                        self.mark(session, email.id, status="failed", last_error=self.error_text(error)[:200])
                        failed += 1
                        continue
                    if skipped:
                        self.mark(session, email.id, status="skipped", last_error=skipped)
                        continue
                    now = datetime.now(UTC)
                    email.status, email.sent_at, email.last_error = "sent", now, None
                    session.commit()
                    # After our commit: the ledger is idempotent by (tenant, meter, day, subject).
                    record_usage(session.tenant.id, "emails_sent", f"{self.usage_subject}:{email.id}", 1, now)
                    sent += 1
        return {"sent": sent, "failed": failed}

    def send_all_queued(self) -> dict[str, Any]:
        """Periodic: every workspace's outbox (mail whose job was lost with Redis, or waited for SMTP)."""
        from saas.db import tenant_session
        from saas.jobs.fanout import for_each_tenant

        def send(ref) -> dict[str, int]:
            with tenant_session(ref) as session:
                return self.send_queued(session)

        return for_each_tenant(f"{self.module}.send", send, module=self.module).as_dict()
