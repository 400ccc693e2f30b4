"""Email-to-ticket through both real inbound paths (the SMTP server on loopback and the webhook taking a
raw RFC 822 message): a new mail opens a ticket, a reply with the genuine reference joins it, a forged
or foreign reference opens a new ticket, redelivery adds nothing, and a tenant with the service module
off refuses mail."""

from __future__ import annotations

import smtplib
import uuid

import pytest
from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.embedded import free_loopback_port
from saas.modules.service.email import inbound_secret, tenant_address, ticket_reference
from saas.modules.service.models import Ticket, TicketMessage
from saas.modules.service.smtpd import start_server
from saas.modules.switches import set_module_enabled
from tests.modules.service.conftest import raw_mail


def _post(client, fixture, raw: bytes, secret: str | None = None):
    return client.post(
        f"/api/v1/service/inbound-mail/{fixture.slug}",
        data=raw,
        headers={
            "Content-Type": "message/rfc822",
            "Authorization": f"Bearer {secret or inbound_secret(fixture.tenant.id)}",
        },
    )


def _counts(fixture) -> tuple[int, int]:
    with tenant_session(fixture.ref) as session:
        return (
            session.scalar(select(func.count()).select_from(Ticket)),
            session.scalar(select(func.count()).select_from(TicketMessage)),
        )


def test_a_reply_with_the_signed_reference_lands_on_its_ticket(client, tenant_a):
    to = tenant_address(tenant_a.slug)
    first = _post(client, tenant_a, raw_mail("Cy <cy@example.com>", to, "Invoice wrong", "Please fix"))
    assert first.status_code == 201 and first.get_json()["created"]
    ticket_id = first.get_json()["ticket_id"]
    with tenant_session(tenant_a.ref) as session:
        ticket = session.get(Ticket, uuid.UUID(ticket_id))
        assert (ticket.subject, ticket.channel, ticket.description) == (
            "Invoice wrong",
            "email",
            "Please fix",
        )
        reference = ticket_reference(tenant_a.tenant.id, ticket.id)
        ticket.status = "pending_customer"
    reply = _post(
        client, tenant_a, raw_mail("cy@example.com", to, f"Re: Invoice wrong {reference}", "Still wrong")
    )
    assert reply.status_code == 200 and reply.get_json() == {
        "ticket_id": ticket_id,
        "created": False,
        "duplicate": False,
    }
    with tenant_session(tenant_a.ref) as session:
        ticket = session.get(Ticket, uuid.UUID(ticket_id))
        assert ticket.status == "open"  # the customer answered: back to the team
        assert [m.body for m in ticket.messages] == ["Still wrong"]


def test_a_forged_or_foreign_reference_opens_a_new_ticket(client, tenant_a, tenant_b):
    to = tenant_address(tenant_a.slug)
    opened = _post(client, tenant_a, raw_mail("di@example.com", to, "Help", "x"))
    assert opened.status_code == 201, opened.get_json()
    first = opened.get_json()["ticket_id"]
    genuine = ticket_reference(tenant_a.tenant.id, uuid.UUID(first))
    forged = genuine[:-3] + ("000]" if not genuine.endswith("000]") else "111]")
    from_b = ticket_reference(tenant_b.tenant.id, uuid.UUID(first))  # signed for another tenant
    for subject in (f"Re: Help {forged}", f"Re: Help {from_b}"):
        response = _post(client, tenant_a, raw_mail("di@example.com", to, subject, "again"))
        assert response.status_code == 201 and response.get_json()["ticket_id"] != first, subject
    # A stranger quoting the genuine reference does not get into the requester's ticket either.
    stranger = _post(client, tenant_a, raw_mail("eve@example.com", to, f"Re: Help {genuine}", "let me in"))
    assert stranger.get_json()["created"] and stranger.get_json()["ticket_id"] != first
    assert _counts(tenant_a) == (4, 0)


def test_a_redelivered_message_is_filed_once(client, tenant_a):
    raw = raw_mail(
        "fay@example.com", tenant_address(tenant_a.slug), "Twice", "body", "<same@customer.example>"
    )
    assert _post(client, tenant_a, raw).status_code == 201
    again = _post(client, tenant_a, raw)
    assert again.status_code == 200 and again.get_json()["duplicate"]
    assert _counts(tenant_a) == (1, 0)


def test_the_webhook_refuses_a_wrong_secret_bad_mail_and_a_switched_off_tenant(client, tenant_a, tenant_b):
    raw = raw_mail("gus@example.com", tenant_address(tenant_a.slug), "Hi", "x")
    assert _post(client, tenant_a, raw, secret=inbound_secret(tenant_b.tenant.id)).status_code == 401
    no_sender = _post(client, tenant_a, b"Subject: none\r\n\r\nbody")
    assert no_sender.status_code == 422 and no_sender.mimetype == "application/problem+json"
    assert client.post("/api/v1/service/inbound-mail/no-such-tenant", data=raw).status_code == 404
    set_module_enabled(db.session, tenant_a.tenant.id, "service", False, actor="test")
    db.session.commit()
    off = _post(client, tenant_a, raw)
    assert off.status_code == 404 and off.get_json()["title"] == "Module switched off"
    assert _counts(tenant_a) == (0, 0)


@pytest.fixture
def smtp_server(app):
    port = free_loopback_port()
    controller = start_server(app, "127.0.0.1", port)
    yield port
    controller.stop()


def test_mail_sent_to_the_smtp_server_opens_and_threads_tickets(tenant_a, tenant_b, smtp_server):
    to = tenant_address(tenant_a.slug)
    with smtplib.SMTP("127.0.0.1", smtp_server) as smtp:
        smtp.sendmail("hal@example.com", [to], raw_mail("hal@example.com", to, "Over SMTP", "hello"))
    with tenant_session(tenant_a.ref) as session:
        ticket = session.scalar(select(Ticket).where(Ticket.subject == "Over SMTP"))
        reference = ticket_reference(tenant_a.tenant.id, ticket.id)
    with smtplib.SMTP("127.0.0.1", smtp_server) as smtp:
        smtp.sendmail("hal@example.com", [to], raw_mail("hal@example.com", to, f"Re: {reference}", "more"))
        # Unknown workspace, another domain, and a workspace with the module off: refused at RCPT.
        set_module_enabled(db.session, tenant_b.tenant.id, "service", False, actor="test")
        db.session.commit()
        for rcpt in ("nobody-here@" + to.split("@")[1], f"{tenant_a.slug}@elsewhere.example",
                     tenant_address(tenant_b.slug)):  # fmt: skip
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("hal@example.com", [rcpt], raw_mail("hal@example.com", rcpt, "x", "y"))
    assert _counts(tenant_a) == (1, 1)
    assert _counts(tenant_b) == (0, 0)
