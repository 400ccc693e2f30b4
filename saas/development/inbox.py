"""The development inbox: under ``saas dev`` with no ``SMTP_URL``, every mail the app sends goes to an
SMTP catcher on loopback and is kept as a file under ``<instance>/dev-inbox``; ``/dev/inbox`` lists it.

Mail travels the same path as in production (``saas.mail`` over SMTP, from the web app and the worker
alike), so signup, password reset, invitations, the privacy center and campaigns can all be tried
locally. Nothing here is installed outside ``SAAS_ENV=development``.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from saas.embedded import free_loopback_port

INBOX_FOLDER = "dev-inbox"
# The newest messages only: a long-running dev instance must not grow a page without end.
SHOWN_MESSAGES = 200
_MESSAGE_ID = re.compile(r"^[0-9]{19}-[0-9a-f]{8}$")
_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class InboxMessage:
    id: str
    received_at: datetime
    to: str
    subject: str
    body: str

    @property
    def links(self) -> list[str]:
        return _LINK.findall(self.body)

    @property
    def parts(self) -> list[tuple[str, bool]]:
        """The body as (text, is_link) pieces, so a page can make links clickable and escape the rest."""
        pieces: list[tuple[str, bool]] = []
        position = 0
        for match in _LINK.finditer(self.body):
            pieces.append((self.body[position : match.start()], False))
            pieces.append((match.group(0), True))
            position = match.end()
        pieces.append((self.body[position:], False))
        return [piece for piece in pieces if piece[0]]


class DevInbox:
    """Messages kept as ``.eml`` files in one folder, named so that their order is their arrival."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keep(self, raw: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = f"{time.time_ns():019d}-{secrets.token_hex(4)}"
        partial = self.folder / f".{message_id}.part"
        partial.write_bytes(raw)
        os.replace(partial, self.folder / f"{message_id}.eml")  # never a half-written message on the page
        return message_id

    def messages(self) -> list[InboxMessage]:
        """The newest first."""
        if not self.folder.is_dir():
            return []
        files = sorted(self.folder.glob("*.eml"), reverse=True)[:SHOWN_MESSAGES]
        return [_read(path) for path in files]

    def message(self, message_id: str) -> InboxMessage | None:
        if not _MESSAGE_ID.match(message_id):
            return None
        path = self.folder / f"{message_id}.eml"
        return _read(path) if path.is_file() else None

    def empty(self) -> int:
        removed = 0
        for path in self.folder.glob("*.eml") if self.folder.is_dir() else ():
            path.unlink(missing_ok=True)
            removed += 1
        return removed


def _read(path: Path) -> InboxMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body_part = message.get_body(preferencelist=("plain", "html"))
    return InboxMessage(
        id=path.stem,
        received_at=datetime.fromtimestamp(int(path.stem.split("-")[0]) / 1e9, UTC),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        body=body_part.get_content() if body_part is not None else "",
    )


class _KeepInInbox:
    """aiosmtpd handler: every message accepted goes into the inbox."""

    def __init__(self, inbox: DevInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope) -> str:
        self.inbox.keep(envelope.original_content or envelope.content)
        return "250 Kept in the development inbox"


def start_inbox_server(inbox: DevInbox) -> tuple[Controller, str]:
    """An SMTP catcher on a free loopback port; returns it and the ``SMTP_URL`` that reaches it."""
    port = free_loopback_port()
    controller = Controller(_KeepInInbox(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    # Loopback only and in development only: plaintext is asked for explicitly (saas.mail refuses it else).
    return controller, f"smtp://127.0.0.1:{port}?tls=none"
