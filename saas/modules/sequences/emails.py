"""The sequence email outbox: mailed by a job after the step's transaction commits, one sender per
workspace at a time (the workflow outbox's claim and marketing's sender lock), each row marked ``sending``
(committed) before its mail goes out and ``sent`` right after the server accepted it; counted in the
usage ledger like workflow and campaign mail.

A salesperson with a connected mailbox sends through it (:mod:`saas.modules.mailbox.sending`): the mail
lands in their Sent folder and on the contact's timeline, and a reply threads onto it. Otherwise the
workspace's sender mails it with the salesperson as Reply-To, under a Message-ID a reply names."""

from __future__ import annotations

import logging
import smtplib
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, update

from saas.billing.usage import record_usage
from saas.db import TenantSession, db
from saas.errors import SaasError
from saas.mail import mail_enabled, smtp_connection
from saas.modules.sequences.models import LIVE_STATUSES, SequenceEmail, SequenceEnrolment

log = logging.getLogger(__name__)

SEND_JOB = "saas.modules.sequences.emails.send_queued"
SENDER_LOCK = uuid.UUID("6f1d1f43-54f0-4f1e-9a2f-000000000002")
"""The advisory lock's name (with the schema): one sequence mail sender per workspace."""
SENDABLE = (*LIVE_STATUSES, "finished")
"""Enrolments whose queued mail still goes out (one that stopped since, for a reply, does not)."""


def queue_sending(session: TenantSession) -> None:
    """Mail what the outbox holds, in a job (queued now: the caller has committed)."""
    if session.scalar(
        select(SequenceEmail.id).where(SequenceEmail.status.in_(("queued", "sending"))).limit(1)
    ):
        from saas.jobs import enqueue_for_tenant

        enqueue_for_tenant(session.tenant.id, SEND_JOB)


def _mark(session: TenantSession, email_id: int, **values: Any) -> None:
    session.execute(update(SequenceEmail).where(SequenceEmail.id == email_id).values(**values))
    session.commit()


def _user_email(user_id: uuid.UUID | None) -> str | None:
    from saas.auth.models import User

    return db.session.scalar(select(User.email).where(User.id == user_id)) if user_id else None


def _earlier(session: TenantSession, email: SequenceEmail) -> SequenceEmail | None:
    """The enrolment's first sent email: later ones answer it, so the conversation stays one thread."""
    return session.scalar(
        select(SequenceEmail)
        .where(SequenceEmail.enrolment_id == email.enrolment_id, SequenceEmail.status == "sent")
        .order_by(SequenceEmail.step_index)
        .limit(1)
    )


def _through_mailbox(session: TenantSession, email: SequenceEmail, mailbox: Any) -> None:
    from saas.modules.mailbox.sending import send_mail
    from saas.modules.mailbox.threads import stored_by_message_id

    earlier = _earlier(session, email)
    parent = None
    if earlier is not None and earlier.message_id_header:
        parent = stored_by_message_id(session, mailbox, [earlier.message_id_header]).get(
            earlier.message_id_header
        )
    stored = send_mail(
        session, mailbox, to=email.email, subject=email.subject, body=email.body,
        reply_to=parent.id if parent is not None else None,
    )  # fmt: skip
    email.message_id_header, email.mail_thread_id = stored.message_id_header, stored.thread_id


def _workspace_message(session: TenantSession, email: SequenceEmail) -> EmailMessage:
    sender = current_app.config.get("MAIL_FROM", "no-reply@localhost")
    salesperson = _user_email(email.user_id)
    message = EmailMessage()
    message["From"] = formataddr((f"{salesperson or session.tenant.slug}", sender))
    message["To"] = email.email
    if salesperson:
        message["Reply-To"] = salesperson
    message["Subject"] = email.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<s{email.id}.{email.enrolment_id.hex}@{sender.rsplit('@', 1)[-1]}>"
    earlier = _earlier(session, email)
    if earlier is not None and earlier.message_id_header:
        message["In-Reply-To"] = message["References"] = earlier.message_id_header
    message.set_content(email.body)
    return message


def send_queued(session: TenantSession, batch_size: int = 50) -> dict[str, int]:
    """Job body: mail every queued sequence email (through the salesperson's mailbox, else the workspace's
    sender; without ``SMTP_URL`` only the former)."""
    from saas.modules.mailbox.mailboxes import own_mailbox
    from saas.modules.mailbox.models import Mailbox
    from saas.modules.marketing.sending import sender_lock
    from saas.modules.switches import is_module_enabled
    from saas.modules.workflows.emails import claim_outbox
    from saas.modules.workflows.runs import writable

    if not writable(session):
        return {"skipped": 1}
    mailboxes_on = is_module_enabled(db.session, session.tenant.id, "mailbox")
    with_mailbox = exists().where(
        Mailbox.owner_user_id == SequenceEmail.user_id, Mailbox.status == "connected"
    )
    where = [] if mail_enabled() else [with_mailbox] if mailboxes_on else None
    if where is None:
        return {"skipped": 1}
    sent = failed = 0
    with sender_lock(session, SENDER_LOCK) as held, ExitStack() as stack:
        if not held:
            return {"sent": 0, "busy": 1}
        workspace_smtp = None
        while batch := claim_outbox(session, SequenceEmail, batch_size, *where):
            for email in batch:
                live = session.scalar(
                    select(SequenceEnrolment.status).where(SequenceEnrolment.id == email.enrolment_id)
                )
                if live not in SENDABLE:
                    _mark(session, email.id, status="skipped", last_error=f"enrolment {live}")
                    continue
                mailbox = own_mailbox(session, email.user_id) if mailboxes_on else None
                try:
                    if mailbox is not None and mailbox.status == "connected":
                        _through_mailbox(session, email, mailbox)
                    else:
                        if workspace_smtp is None:
                            workspace_smtp = stack.enter_context(smtp_connection())
                        message = _workspace_message(session, email)
                        workspace_smtp.send_message(message)
                        email.message_id_header = message["Message-ID"]
                except (SaasError, smtplib.SMTPException, OSError) as error:
                    session.rollback()
                    code = getattr(error, "smtp_code", None)
                    _mark(
                        session, email.id, status="failed", last_error=f"{code or type(error).__name__}"[:200]
                    )
                    failed += 1
                    continue
                now = datetime.now(UTC)
                email.status, email.sent_at, email.last_error = "sent", now, None
                session.commit()
                # After our commit: the ledger is idempotent by (tenant, meter, day, subject).
                record_usage(session.tenant.id, "emails_sent", f"sequence:{email.id}", 1, now)
                sent += 1
    return {"sent": sent, "failed": failed}


def send_all_queued() -> dict[str, Any]:
    """Periodic: the outbox of every workspace (mail whose job was lost with Redis, or waited for SMTP)."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def send(ref) -> dict[str, int]:
        with tenant_session(ref) as session:
            return send_queued(session)

    return for_each_tenant("sequences.send", send, module="sequences").as_dict()
