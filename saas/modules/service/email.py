"""Email-to-ticket: a signed ticket reference in subjects, staff replies mailed to the requester, and
inbound mail (from the SMTP server in :mod:`saas.modules.service.smtpd` or the inbound webhook)
creating or threading tickets.

A reply threads onto a ticket only if its subject carries that ticket's reference with a valid
signature and it comes from the ticket's requester; anything else (a forged or altered reference, a
stranger quoting it) opens a new ticket instead.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import os
import re
import smtplib
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from saas.db import TenantRef, TenantSession, db, tenant_session
from saas.errors import NotFound, ValidationError
from saas.i18n import in_locale
from saas.mail import send_mail
from saas.modules.core.models import Contact
from saas.modules.service.models import Ticket, TicketMessage
from saas.modules.service.tickets import add_customer_message, contact_for_email, tickets
from saas.tenants.language import recipient_locale

log = logging.getLogger(__name__)

REFERENCE = re.compile(r"\[#([0-9a-f]{32})\.([0-9a-f]{16})\]")
MAX_BODY = 100_000
MAX_ATTACHMENTS = 20


def _signature(tenant_id: str, ticket_id: uuid.UUID) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"service-ticket-ref:{tenant_id}:{ticket_id.hex}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def ticket_reference(tenant_id: str, ticket_id: uuid.UUID) -> str:
    """``[#<ticket id>.<signature>]``: names the ticket and proves we wrote it (for this tenant)."""
    return f"[#{ticket_id.hex}.{_signature(tenant_id, ticket_id)}]"


def referenced_ticket_id(tenant_id: str, subject: str) -> uuid.UUID | None:
    """The ticket a subject's reference names, if its signature is genuine for this tenant."""
    for ticket_hex, signature in REFERENCE.findall(subject or ""):
        ticket_id = uuid.UUID(ticket_hex)
        if hmac.compare_digest(signature, _signature(tenant_id, ticket_id)):
            return ticket_id
    return None


def inbound_domain() -> str:
    return os.environ.get("SERVICE_INBOUND_DOMAIN", "support.localhost")


def tenant_address(slug: str) -> str:
    """Where a tenant's customers write to open or answer tickets."""
    return f"{slug}@{inbound_domain()}"


def inbound_secret(tenant_id: str) -> str:
    """The bearer secret of a tenant's inbound-mail webhook (shown to its admins)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"service-inbound:{tenant_id}".encode(), hashlib.sha256).hexdigest()[:40]


# --- outbound -------------------------------------------------------------------------------------


def send_pending_replies(session: TenantSession) -> int:
    """Job body: mail every staff reply still waiting to go out, one commit each.

    A message the mail server refuses for good (a bad address) is marked failed so it does not hold up
    the others; a connection failure raises, and the next run (every minute) tries again.
    """
    sent = 0
    while True:
        message = session.scalar(
            select(TicketMessage)
            .where(TicketMessage.mail_status == "pending")
            .order_by(TicketMessage.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            return sent
        ticket = session.get(Ticket, message.ticket_id)
        contact = ticket.requester_contact_id and session.get(Contact, ticket.requester_contact_id)
        if not contact or not contact.email:
            message.mail_status = "skipped"
        else:
            address = tenant_address(session.tenant.slug)
            with in_locale(recipient_locale(contact.preferred_locale, session.tenant.id)):
                footer = gettext(
                    "To answer, reply to this email (keep the reference in the subject) or write to "
                    "%(address)s.",
                    address=address,
                )
            body = f"{message.body}\n\n--\n{footer}"
            subject = f"Re: {ticket.subject} {ticket_reference(session.tenant.id, ticket.id)}"
            try:
                delivered = send_mail(contact.email, subject, body, reply_to=address)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                delivered = False
            message.mail_status = "sent" if delivered else "failed"
            sent += delivered
        session.commit()


PORTAL_LINK_SALT = "service-portal-link"


def send_portal_link(session: TenantSession, contact_id: str | None, portal_url: str) -> bool:
    """Job body: mail the contact a fresh sign-in link to the portal (the privacy center's kind of link);
    for an address that is no contact (``None``) nothing, so the request was the same work either way."""
    from saas.modules.privacy.links import make_link_token

    contact = session.get(Contact, uuid.UUID(contact_id)) if contact_id else None
    if contact is None or not contact.email:
        return False
    token = make_link_token(session.tenant.id, contact.id, salt=PORTAL_LINK_SALT)
    with in_locale(recipient_locale(contact.preferred_locale, session.tenant.id)):
        body = gettext(
            "Someone (we hope you) asked to sign in to our support portal.\n\n"
            "Open it here (the link works once, for 15 minutes):\n%(link)s\n\n"
            "If this was not you, ignore this message.",
            link=f"{portal_url}enter/{token}",
        )
        return send_mail(contact.email, gettext("Your support portal link"), body)


# --- inbound --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    sender: str
    name: str | None
    subject: str
    body: str
    message_id: str | None
    attachments: tuple[tuple[str | None, bytes], ...] = ()
    """(file name, content) of each attached file, kept as files on the ticket or the reply."""


@dataclass(frozen=True)
class Delivered:
    ticket_id: uuid.UUID
    created: bool
    duplicate: bool = False


def parse_message(raw: bytes) -> Inbound:
    """The parts of an RFC 822 message a ticket needs; refuses one without a usable sender."""
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default always builds one
        raise ValidationError("Not an email message.")
    name, address = parseaddr(str(message.get("From", "")))
    try:
        sender = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError("The message has no valid sender.", {"from": ["A valid address."]}) from None
    part = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if part is not None:
        try:
            text = part.get_content()
        except (LookupError, ValueError):
            text = part.get_payload(decode=True).decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    message_id = str(message.get("Message-ID", "")).strip()[:255] or None
    attachments = tuple(
        (part.get_filename(), part.get_payload(decode=True) or b"")
        for part in list(message.iter_attachments())[:MAX_ATTACHMENTS]
    )
    return Inbound(
        sender=sender,
        name=name.strip()[:100] or None,
        subject=" ".join(str(message.get("Subject", "")).split())[:500],
        body=text.strip()[:MAX_BODY] or "(no text)",
        message_id=message_id,
        attachments=attachments,
    )


def _keep_attachments(
    session: TenantSession,
    mail: Inbound,
    ticket: Ticket,
    contact_id: uuid.UUID,
    message: TicketMessage | None,
) -> None:
    """The mail's attachments become files on the ticket (on its reply when it is one); any not kept is
    named, with the reason, at the end of the text it came with."""
    if not mail.attachments:
        return
    from saas.modules.files.services import keep_attachments

    refused = keep_attachments(
        session, "tickets", ticket.id, list(mail.attachments),
        contact_id=contact_id, message_id=message.id if message else None,
    )  # fmt: skip
    if refused:
        note = "\n\n" + "\n".join(refused)
        if message is not None:
            message.body += note
        else:
            ticket.description = (ticket.description or "") + note


def receive_mail(session: TenantSession, raw: bytes) -> Delivered:
    """One inbound message: thread it on the ticket its genuine reference names, or open a ticket."""
    mail = parse_message(raw)
    if mail.message_id:  # redelivered: the same message once
        seen = session.scalar(
            select(TicketMessage.ticket_id).where(TicketMessage.email_message_id == mail.message_id)
        )
        opened = session.scalar(select(Ticket.id).where(Ticket.email_message_id == mail.message_id))
        if seen or opened:
            return Delivered(seen or opened, created=False, duplicate=True)
    contact = contact_for_email(session, mail.sender, mail.name)
    ticket_id = referenced_ticket_id(session.tenant.id, mail.subject)
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is not None and ticket.requester_contact_id == contact.id and ticket.status != "closed":
        message = add_customer_message(
            session, ticket, contact.id, mail.body, channel="email", email_message_id=mail.message_id
        )
        _keep_attachments(session, mail, ticket, contact.id, message)
        return Delivered(ticket.id, created=False)
    subject = REFERENCE.sub("", mail.subject).strip() or "(no subject)"
    created = tickets.create(
        session,
        {
            "subject": subject[:200],
            "description": mail.body,
            "channel": "email",
            "requester_contact_id": contact.id,
            "email_message_id": mail.message_id,
        },
        actor="customer",
    )
    _keep_attachments(session, mail, created, contact.id, None)
    return Delivered(created.id, created=True)


def tenant_for_inbound(slug: str) -> TenantRef:
    """The tenant a message to ``slug``'s address is for; refused if unknown or its service is off."""
    from saas.modules.switches import ModuleDisabled, is_module_enabled
    from saas.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound("No such support address.")
    if not is_module_enabled(db.session, tenant.id, "service"):
        raise ModuleDisabled("The Service module is switched off for this workspace; mail is not accepted.")
    return tenant.ref


def deliver_to_slug(slug: str, raw: bytes) -> Delivered:
    """Inbound mail for one tenant in its own transaction (the SMTP server's path)."""
    ref = tenant_for_inbound(slug)
    db.session.remove()
    with tenant_session(ref) as session:
        return receive_mail(session, raw)
