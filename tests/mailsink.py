"""A real SMTP server (aiosmtpd) on loopback that keeps every message the app sends; shared by the
privacy and marketing tests (import ``mail_sink`` into a conftest to use the fixture)."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from saas.embedded import free_loopback_port


class MailSink:
    """Keeps every message the app sends."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


class GatedSink(MailSink):
    """Accepts the first ``accept`` messages, then holds the next one unanswered until released: the kill
    lands while the sender waits for that message's 250, never in the instant between a 250 and the
    sender's commit (the one place SMTP cannot be exactly once). The held message is then refused (451),
    as a server whose client hung up keeps nothing; the ones after it are accepted again."""

    def __init__(self, accept: int) -> None:
        super().__init__()
        self.accept = accept
        self.holding = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if len(self.messages) < self.accept or self.released.is_set():
            return await super().handle_DATA(server, session, envelope)
        self.holding.set()
        while not self.released.is_set():
            await asyncio.sleep(0.02)
        return "451 4.3.0 Try again later"


def start_sink(handler: MailSink) -> tuple[Controller, str]:
    """Run ``handler`` as an SMTP server on a free loopback port; returns it and its ``SMTP_URL``."""
    port = free_loopback_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    # The sink speaks no TLS: plaintext must be asked for explicitly (saas.mail refuses it otherwise).
    return controller, f"smtp://127.0.0.1:{port}?tls=none"


@pytest.fixture
def mail_sink(app, monkeypatch):
    sink = MailSink()
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    monkeypatch.setitem(app.config, "PRIVACY_LINK_RATE_LIMIT", "1000 per minute")
    yield sink
    controller.stop()
