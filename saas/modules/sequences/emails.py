"""The sequence email outbox on the engine's (:mod:`saas.automation.outbox`: claimed, one sender per
workspace, marked ``sending`` then ``sent``, counted in the usage ledger like workflow and campaign mail).

A salesperson with a connected mailbox sends through it (:mod:`saas.modules.mailbox.sending`): the mail
lands in their Sent folder and on the contact's timeline, and a reply threads onto it. Otherwise the
workspace's sender mails it with the salesperson as Reply-To, under a Message-ID a reply names."""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from flask import current_app
from sqlalchemy import exists, select

from saas.automation.outbox import Outbox, Sending, WorkspaceSmtp
from saas.db import TenantSession, db
from saas.errors import SaasError
from saas.mail import mail_enabled
from saas.modules.sequences.models import LIVE_STATUSES, SequenceEmail, SequenceEnrolment

log = logging.getLogger(__name__)

SEND_JOB = "saas.modules.sequences.emails.send_queued"
SENDER_LOCK = uuid.UUID("6f1d1f43-54f0-4f1e-9a2f-000000000002")
"""The advisory lock's name (with the schema): one sequence mail sender per workspace."""
SENDABLE = (*LIVE_STATUSES, "finished")
"""Enrolments whose queued mail still goes out (one that stopped since, for a reply, does not)."""


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


class SequenceOutbox(Outbox):
    """Sequence mail goes through the salesperson's mailbox when connected, else the workspace's SMTP
    server (opened only when needed); a row of an enrolment that ended meanwhile is skipped."""

    module = "sequences"
    emails = SequenceEmail
    send_job = SEND_JOB
    sender = SENDER_LOCK
    batch_size = 50
    usage_subject = "sequence"
    delivery_errors = (SaasError, smtplib.SMTPException, OSError)

    def sending(self, session: TenantSession) -> Sending | None:
        """Without ``SMTP_URL`` only the rows of salespeople with a connected mailbox (none while the
        mailbox module is off); ``context``: whether it is on."""
        from saas.modules.mailbox.models import Mailbox
        from saas.modules.switches import is_module_enabled

        mailboxes_on = is_module_enabled(db.session, session.tenant.id, "mailbox")
        if mail_enabled():
            return Sending((), mailboxes_on)
        if not mailboxes_on:
            return None
        with_mailbox = exists().where(
            Mailbox.owner_user_id == SequenceEmail.user_id, Mailbox.status == "connected"
        )
        return Sending((with_mailbox,), mailboxes_on)

    def deliver(
        self, session: TenantSession, sending: Sending, email: SequenceEmail, smtp: WorkspaceSmtp
    ) -> str | None:
        from saas.modules.mailbox.mailboxes import own_mailbox

        live = session.scalar(
            select(SequenceEnrolment.status).where(SequenceEnrolment.id == email.enrolment_id)
        )
        if live not in SENDABLE:
            return f"enrolment {live}"
        mailbox = own_mailbox(session, email.user_id) if sending.context else None
        if mailbox is not None and mailbox.status == "connected":
            _through_mailbox(session, email, mailbox)
        else:
            message = _workspace_message(session, email)
            smtp().send_message(message)
            email.message_id_header = message["Message-ID"]
        return None

    def error_text(self, error: BaseException) -> str:
        return f"{getattr(error, 'smtp_code', None) or type(error).__name__}"


OUTBOX = SequenceOutbox()


def send_queued(session: TenantSession, batch_size: int = 50) -> dict[str, int]:
    """Job body (RQ path :data:`SEND_JOB`): mail every queued sequence email (through the salesperson's
    mailbox, else the workspace's sender; without ``SMTP_URL`` only the former)."""
    return OUTBOX.send_queued(session, batch_size)


def send_all_queued() -> dict[str, Any]:
    """Periodic: the outbox of every workspace (mail whose job was lost with Redis, or waited for SMTP)."""
    return OUTBOX.send_all_queued()
