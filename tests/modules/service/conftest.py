"""Service fixtures: the real SMTP sink (shared with the privacy tests), people and tickets made through
the services, the customer hub's sign-in by mailed link, and raw RFC 822 messages."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from flask.testing import FlaskClient

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.core import services
from saas.modules.service.tickets import tickets
from tests.conftest import TenantFixture, csrf_token_from
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)


@pytest.fixture(autouse=True)
def generous_rate_limits(app, monkeypatch):
    """Every test client shares one address; tests of the limits themselves set their own."""
    for name in ("PORTAL_LINK_RATE_LIMIT", "PORTAL_WRITE_RATE_LIMIT", "PORTAL_READ_RATE_LIMIT",
                 "INBOUND_MAIL_RATE_LIMIT"):  # fmt: skip
        monkeypatch.setitem(app.config, name, "10000 per minute")


def add_contact(fixture: TenantFixture, **data) -> str:
    with tenant_session(fixture.ref) as session:
        return str(services.contacts.create(session, data).id)


def add_ticket(fixture: TenantFixture, **data) -> str:
    with tenant_session(fixture.ref) as session:
        return str(tickets.create(session, {"subject": "Printer on fire", **data}).id)


def raw_mail(sender: str, to: str, subject: str, body: str, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    message.set_content(body)
    return message.as_bytes()


def portal_link(sink, email: str) -> str:
    """The token of the newest sign-in link mailed to ``email`` (the hub's; the portal's before it)."""
    make_worker().work(burst=True)
    messages = [m for m in sink.messages if m["To"] == email and "/enter/" in m.get_content()]
    match = re.search(r"/enter/(\S+)", messages[-1].get_content())
    assert match, "the mail holds no link"
    return match.group(1)


def sign_in_to_portal(client: FlaskClient, sink, slug: str, email: str) -> None:
    """Signs in to the customer hub, where the portal's tickets now are."""
    page = client.get(f"/hub/{slug}/")
    client.post(f"/hub/{slug}/", data={"email": email, "csrf_token": csrf_token_from(page.text)})
    token = portal_link(sink, email)
    page = client.get(f"/hub/{slug}/enter/{token}")
    response = client.post(f"/hub/{slug}/enter/{token}", data={"csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/hub/{slug}/home")
