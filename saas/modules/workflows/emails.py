"""The workflow email outbox: mailed by a job after the step's transaction commits, one sender per
workspace at a time, each row marked ``sending`` (committed) before its mail goes out and ``sent`` right
after the server accepted it; counted in the usage ledger like campaign mail. Opens come back through
a signed pixel and wake the runs waiting for them."""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from saas.billing.usage import record_usage
from saas.db import TenantSession
from saas.mail import mail_enabled, smtp_connection
from saas.modules.workflows import clock
from saas.modules.workflows.models import WorkflowEmail, WorkflowEnrolment

log = logging.getLogger(__name__)

SEND_JOB = "saas.modules.workflows.emails.send_queued"
OPEN_TOKEN = "workflow-open"  # noqa: S105  (the tracking token's kind, no secret)
SENDER_LOCK = uuid.UUID("6f1d1f43-54f0-4f1e-9a2f-000000000001")
"""The advisory lock's name (with the schema): one workflow mail sender per workspace."""


def queue_sending(session: TenantSession) -> None:
    """Mail what the outbox holds, in a job (queued now: the caller has committed)."""
    if session.scalar(
        select(WorkflowEmail.id).where(WorkflowEmail.status.in_(("queued", "sending"))).limit(1)
    ):
        from saas.jobs import enqueue_for_tenant

        enqueue_for_tenant(session.tenant.id, SEND_JOB)


def claim_outbox(session: TenantSession, outbox: Any, size: int, *where: Any) -> list[Any]:
    """Mark up to ``size`` rows of an outbox table (``id``, ``status``, ``attempts``: workflow or sequence
    emails) ``sending`` and commit; returns them. ``where``: further conditions on the rows taken."""
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


def _message(session: TenantSession, email: WorkflowEmail, base_url: str):
    from saas.modules.core.models import Contact
    from saas.modules.marketing.campaigns import get_settings
    from saas.modules.marketing.content import Sender, TrackedUrls, build_message, merge_values
    from saas.modules.marketing.models import Campaign
    from saas.modules.marketing.tracking import make_token

    template = session.get(Campaign, email.template_id)
    contact = session.get(Contact, email.contact_id)
    if template is None or contact is None:
        return None
    settings = get_settings(session)
    sender = Sender(settings.from_name, settings.from_email, settings.reply_to, settings.postal_address)
    tenant = session.tenant
    base = base_url.rstrip("/")
    urls = TrackedUrls(
        open_pixel=f"{base}/wf/{tenant.slug}/o/{make_token(OPEN_TOKEN, tenant.id, email.id)}.gif",
        unsubscribe=f"{base}/hub/{tenant.slug}/",  # the customer hub, where consents are withdrawn
        click={},
    )
    domain = sender.email.rsplit("@", 1)[-1]
    return build_message(
        sender=sender, to=email.email, subject=template.subject, html_body=template.html_body,
        text_body=template.text_body, values=merge_values(contact), urls=urls,
        message_id=f"<w{email.id}.{email.enrolment_id.hex}@{domain}>",
    )  # fmt: skip


def _base_url(session: TenantSession, email: WorkflowEmail) -> str:
    from saas.modules.workflows.models import Workflow

    workflow = session.scalar(
        select(Workflow)
        .join(WorkflowEnrolment, WorkflowEnrolment.workflow_id == Workflow.id)
        .where(WorkflowEnrolment.id == email.enrolment_id)
    )
    return (workflow.base_url if workflow else None) or "http://localhost"


def _mark(session: TenantSession, email_id: int, **values: Any) -> None:
    session.execute(update(WorkflowEmail).where(WorkflowEmail.id == email_id).values(**values))
    session.commit()


def send_queued(session: TenantSession, batch_size: int = 100) -> dict[str, int]:
    """Job body: mail every queued workflow email."""
    from saas.modules.marketing.sending import sender_lock
    from saas.modules.workflows.runs import writable

    if not mail_enabled() or not writable(session):
        return {"skipped": 1}
    sent = failed = 0
    with sender_lock(session, SENDER_LOCK) as held:
        if not held:
            return {"sent": 0, "busy": 1}
        with smtp_connection() as smtp:
            while batch := claim_outbox(session, WorkflowEmail, batch_size):
                for email in batch:
                    message = _message(session, email, _base_url(session, email))
                    if message is None:
                        _mark(session, email.id, status="skipped", last_error="template or contact deleted")
                        continue
                    try:
                        smtp.send_message(message)
                    except smtplib.SMTPException as error:
                        code = getattr(error, "smtp_code", None)
                        _mark(
                            session,
                            email.id,
                            status="failed",
                            last_error=f"SMTP {code or type(error).__name__}",
                        )
                        failed += 1
                        continue
                    now = datetime.now(UTC)
                    _mark(session, email.id, status="sent", sent_at=now, last_error=None)
                    # After our commit: the ledger is idempotent by (tenant, meter, day, subject).
                    record_usage(session.tenant.id, "emails_sent", f"workflow:{email.id}", 1, now)
                    sent += 1
    return {"sent": sent, "failed": failed}


def record_open(session: TenantSession, token: str) -> None:
    """The pixel of a workflow email loaded: the first open is kept and wakes the run waiting for it."""
    from saas.modules.marketing.tracking import read_token

    email_id = read_token(OPEN_TOKEN, token, session.tenant.id).recipient_id
    email = session.get(WorkflowEmail, email_id)
    if email is None or email.opened_at is not None:
        return
    email.opened_at = clock.now()
    from saas.modules.workflows.runs import wake

    wake(session, [email.enrolment_id])


def send_all_queued() -> dict[str, Any]:
    """Periodic: the outbox of every workspace (mail whose job was lost with Redis, or waited for SMTP)."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def send(ref) -> dict[str, int]:
        with tenant_session(ref) as session:
            return send_queued(session)

    return for_each_tenant("workflows.send", send, module="workflows").as_dict()
