"""Reading a raw message as it comes from the server, whatever its charsets and MIME structure: the
addresses, threading headers, a plain-text body and the attachments (``email`` with ``policy.default``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import nh3

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str
    from_name: str | None
    to: list[str]
    cc: list[str]
    sent_at: datetime
    body_text: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(file name, declared content type, bytes)."""

    @property
    def participants(self) -> list[str]:
        return sorted({a for a in [self.from_address, *self.to, *self.cc] if a})

    @property
    def thread_keys(self) -> list[str]:
        """Message-IDs this message answers, nearest first."""
        keys = [self.in_reply_to] if self.in_reply_to else []
        return keys + [ref for ref in reversed(self.references) if ref not in keys]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except (ValueError, TypeError, IndexError):  # a header the parser cannot decode: keep it raw
        return str(message.get_all(name, [""])[0])


def _addresses(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    found = []
    try:
        header = message.get(name)
        # The parsed header's own addresses: parsing its text again would double the cost.
        pairs = [(a.display_name, a.addr_spec) for a in header.addresses] if header is not None else []
    except (ValueError, TypeError, IndexError, AttributeError):  # undecodable: read it as plain text
        pairs = getaddresses([str(value) for value in message.get_all(name, [])])
    for display, address in pairs:
        address = address.strip().lower()
        if "@" in address and len(address) <= 254:
            found.append((display.strip(), address))
    return found


def _ids(value: str) -> list[str]:
    return [found[:998] for found in MESSAGE_ID.findall(value or "")]


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return content


def html_to_text(html: str) -> str:
    """A readable text of an HTML body: tags dropped by nh3 (the sanitiser the rest of the app uses)."""
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", html)
    text = nh3.clean(html, tags=set(), strip_comments=True)
    text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_message(raw: bytes, *, received_at: datetime | None = None) -> ParsedMail:
    """Parse a message; never raises on a malformed one (what cannot be read is left out)."""
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    senders = _addresses(message, "From")
    display, sender = senders[0] if senders else ("", "")
    try:
        sent_at = parsedate_to_datetime(_header(message, "Date"))
        sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        sent_at = received_at or datetime.now(UTC)
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = _text_of(body)
        if body.get_content_subtype() == "html":
            text = html_to_text(text)
    attachments = []
    for part in message.iter_attachments() if message.is_multipart() else ():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        attachments.append((part.get_filename() or "attachment", part.get_content_type(), payload))
    ids = _ids(_header(message, "Message-ID"))
    replied = _ids(_header(message, "In-Reply-To"))
    return ParsedMail(
        message_id=ids[0] if ids else None,
        in_reply_to=replied[0] if replied else None,
        references=_ids(_header(message, "References")),
        subject=" ".join(_header(message, "Subject").split())[:998],
        from_address=sender,
        from_name=display[:200] or None,
        to=[address for _, address in _addresses(message, "To")],
        cc=[address for _, address in _addresses(message, "Cc")],
        sent_at=sent_at,
        body_text=text.replace("\x00", ""),
        attachments=attachments,
    )
