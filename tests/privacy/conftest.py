"""Privacy fixtures: a real SMTP sink (aiosmtpd) on loopback, people in tenants, the center's sign-in."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.core import services
from tests.conftest import TenantFixture, csrf_token_from


class MailSink:
    """Keeps every message the app sends."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_sink(app, monkeypatch):
    sink = MailSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "PRIVACY_LINK_RATE_LIMIT", "1000 per minute")
    yield sink
    controller.stop()


def add_contact(fixture: TenantFixture, **data) -> str:
    with tenant_session(fixture.ref) as session:
        return str(services.contacts.create(session, data).id)


def request_link(client: FlaskClient, slug: str, email: str):
    page = client.get(f"/p/{slug}/")
    return client.post(f"/p/{slug}/", data={"email": email, "csrf_token": csrf_token_from(page.text)})


def mailed_token(sink: MailSink, email: str) -> str:
    make_worker().work(burst=True)
    [message] = sink.to(email)
    match = re.search(r"/enter/(\S+)", message.get_content())
    assert match, "the mail holds no link"
    return match.group(1)


def enter_center(client: FlaskClient, slug: str, token: str):
    page = client.get(f"/p/{slug}/enter/{token}")
    if page.status_code != 200:
        return page
    return client.post(f"/p/{slug}/enter/{token}", data={"csrf_token": csrf_token_from(page.text)})


def sign_in_to_center(client: FlaskClient, sink: MailSink, slug: str, email: str) -> None:
    request_link(client, slug, email)
    response = enter_center(client, slug, mailed_token(sink, email))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{slug}/home")
