"""Writing to a customer from the CRM through the member's own SMTP server: the message is sent, put
into the mailbox's Sent folder over IMAP (APPEND), and kept on the timeline like synced mail, so a
reply threads onto it (In-Reply-To/References) and the next sync of Sent does not store it again."""

from __future__ import annotations

import html
import logging
import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from email_validator import EmailNotValidError, validate_email
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SENT

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.mailbox import tracking
from saas.modules.mailbox.connections import logout_quietly, open_imap, open_smtp
from saas.modules.mailbox.models import Mailbox, MailMessage
from saas.modules.mailbox.parsing import parse_message
from saas.modules.mailbox.threads import domain_of, known_people, store_message

log = logging.getLogger(__name__)

URL = re.compile(r"https?://[^\s<>\"']+")
MAX_BODY_CHARS = 100_000


def _recipient(value: str) -> str:
    try:
        return validate_email(value or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(
            "Give the recipient's email address.", {"to": ["A valid email address."]}
        ) from None


def _tracked_html(text: str, open_url: str, click_url) -> str:
    """The text as HTML, its links going through the click redirect, with the open pixel at the end."""
    parts, last = [], 0
    for match in URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        link = match.group(0)
        parts.append(f'<a href="{html.escape(click_url(link))}">{html.escape(link)}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>\n")
    pixel = f'<img src="{html.escape(open_url)}" width="1" height="1" alt="">'
    return f"<html><body><div>{body}</div>{pixel}</body></html>"


def build_message(
    mailbox: Mailbox, to: str, subject: str, body: str, parent: MailMessage | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mailbox.email_address
    message["To"] = to
    if parent is not None and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=domain_of(mailbox.email_address))
    if parent is not None and parent.message_id_header:
        message["In-Reply-To"] = parent.message_id_header
        message["References"] = " ".join(filter(None, [parent.references, parent.message_id_header]))
    message.set_content(body)
    return message


def send_mail(
    session: TenantSession,
    mailbox: Mailbox,
    *,
    to: str,
    subject: str,
    body: str,
    reply_to: uuid.UUID | None = None,
    track: bool = False,
    base_url: str = "",
) -> MailMessage:
    """Send to a contact (or someone at a known account) and keep the message on their timeline;
    ``track`` counts opens and clicks through this app at ``base_url``."""
    if mailbox.status != "connected":
        raise Conflict("This mailbox is disconnected: connect it again to send.")
    address = _recipient(to)
    subject = " ".join((subject or "").split())[:998]
    errors = {}
    if not subject:
        errors["subject"] = ["Give the message a subject."]
    if not (body or "").strip() or len(body) > MAX_BODY_CHARS:
        errors["body"] = [N_("Write the message (at most %(limit)s characters).", limit=MAX_BODY_CHARS)]
    if errors:
        raise ValidationError("Check the message.", errors)
    parent = None
    if reply_to is not None:
        parent = session.get(MailMessage, reply_to)
        if parent is None or parent.mailbox_id != mailbox.id:
            raise NotFound("No such message to reply to.")
    people = known_people(session, mailbox, [address])
    if not people:
        raise ValidationError(
            "Mail from the CRM goes to contacts and known accounts only.",
            {"to": ["Not the email of a contact or of a known account's domain."]},
        )
    message = build_message(mailbox, address, subject, body, parent)
    message_row_id = uuid.uuid4()
    if track and base_url:
        open_url, click_url = tracking.links(session.tenant.id, message_row_id, base_url)
        message.add_alternative(_tracked_html(body, open_url, click_url), subtype="html")
    raw = message.as_bytes()
    smtp = open_smtp(mailbox, session=session)
    try:
        smtp.send_message(message)
    finally:
        smtp.quit()
    folder, uidvalidity, uid = _append_to_sent(session, mailbox, raw)
    stored = store_message(
        session, mailbox, parse_message(raw), people,
        direction="out", folder=folder, uidvalidity=uidvalidity, uid=uid, row_id=message_row_id,
    )  # fmt: skip
    session.flush()
    return stored


def _append_to_sent(
    session: TenantSession, mailbox: Mailbox, raw: bytes
) -> tuple[str | None, int | None, int | None]:
    """APPEND the sent message to the mailbox's Sent folder; its (folder, UIDVALIDITY, UID) where the
    server says (UIDPLUS). The mail is sent already: a failure here is logged, not raised."""
    try:
        client = open_imap(mailbox, session=session)
    except (IMAPClientError, OSError, Conflict) as error:
        log.warning(
            "mailbox %s: could not open IMAP to file a sent message: %s", mailbox.id, type(error).__name__
        )
        return None, None, None
    try:
        folder = mailbox.sent_folder or client.find_special_folder(SENT)
        if folder is None:
            return None, None, None
        mailbox.sent_folder = folder
        answer = client.append(folder, raw, flags=[rb"\Seen"], msg_time=datetime.now(UTC))
        found = re.search(rb"APPENDUID (\d+) (\d+)", answer or b"")
        if found is None:
            return folder, None, None
        return folder, int(found.group(1)), int(found.group(2))
    except (IMAPClientError, OSError) as error:
        log.warning("mailbox %s: could not file a sent message: %s", mailbox.id, type(error).__name__)
        return None, None, None
    finally:
        logout_quietly(client)
