"""Files that come with tickets: inbound mail attachments (on the ticket, or on the reply they came with)
and the customer's uploads in the portal."""

from __future__ import annotations

import io
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from saas.db import tenant_session
from saas.modules.files.models import StoredFile
from saas.modules.service.email import inbound_secret, tenant_address, ticket_reference
from saas.modules.service.models import Ticket, TicketMessage
from tests.conftest import csrf_token_from
from tests.files.conftest import PDF, stored_keys
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink the portal's sign-in link goes to
from tests.modules.service.conftest import add_contact, add_ticket, sign_in_to_portal


@pytest.fixture(autouse=True)
def generous_rate_limits(app, monkeypatch):
    for name in ("PORTAL_LINK_RATE_LIMIT", "PORTAL_WRITE_RATE_LIMIT", "INBOUND_MAIL_RATE_LIMIT"):
        monkeypatch.setitem(app.config, name, "10000 per minute")


def _mail(to: str, subject: str, attachments: list[tuple[bytes, str, str]]) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Cy <cy@example.com>", to, subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content("See attached.")
    for content, mime, name in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def _deliver(client, fixture, raw: bytes):
    return client.post(
        f"/api/v1/service/inbound-mail/{fixture.slug}",
        data=raw,
        headers={
            "Content-Type": "message/rfc822",
            "Authorization": f"Bearer {inbound_secret(fixture.tenant.id)}",
        },
    )


def _files(fixture) -> list[StoredFile]:
    with tenant_session(fixture.ref) as session:
        return list(session.query(StoredFile).order_by(StoredFile.created_at, StoredFile.name))


def test_inbound_mail_keeps_its_attachments_and_names_the_ones_it_refused(client, tenant_a, storage):
    to = tenant_address(tenant_a.slug)
    program = b"MZ\x90\x00" + b"\x00" * 200
    attachments = [
        (PDF, "application/pdf", "invoice.pdf"),
        (program, "application/octet-stream", "setup.exe"),
    ]
    opened = _deliver(client, tenant_a, _mail(to, "Invoice", attachments))
    assert opened.status_code == 201
    ticket_id = uuid.UUID(opened.get_json()["ticket_id"])

    [kept] = _files(tenant_a)
    assert (kept.record_type, kept.record_id, kept.name, kept.message_id) == (
        "tickets",
        ticket_id,
        "invoice.pdf",
        None,
    )
    assert kept.uploaded_by_contact_id is not None and kept.content_type == "application/pdf"
    with tenant_session(tenant_a.ref) as session:
        ticket = session.get(Ticket, ticket_id)
        assert "setup.exe not kept" in ticket.description and "See attached." in ticket.description
        reference = ticket_reference(tenant_a.tenant.id, ticket.id)

    reply = _deliver(
        client, tenant_a, _mail(to, f"Re: Invoice {reference}", [(b"new numbers\n", "text/plain", "n.txt")])
    )
    assert reply.status_code == 200
    on_reply = [f for f in _files(tenant_a) if f.name == "n.txt"]
    with tenant_session(tenant_a.ref) as session:
        [message] = session.query(TicketMessage).filter_by(ticket_id=ticket_id).all()
    assert [(f.record_id, f.message_id) for f in on_reply] == [(ticket_id, message.id)]
    assert len(stored_keys(storage, tenant_a.tenant.id)) == 2


def test_a_customer_attaches_a_file_to_their_own_ticket_in_the_hub(client, tenant_a, mail_sink):  # noqa: F811
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    ben = add_contact(tenant_a, first_name="Ben", email="ben@example.com")
    own = add_ticket(tenant_a, requester_contact_id=ann)
    other = add_ticket(tenant_a, requester_contact_id=ben)
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")
    base = f"/hub/{tenant_a.slug}/tickets"  # the customer hub's ticket pages
    page = client.get(f"{base}/{own}")
    assert 'name="file"' in page.text
    token = csrf_token_from(page.text)

    def attach(ticket_id, content, name):
        data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
        return client.post(f"{base}/{ticket_id}/files", data=data, content_type="multipart/form-data")

    attached = attach(own, PDF, "photo of error.pdf")
    assert attached.status_code == 302 and "attached" in client.get(attached.location).text
    assert attach(other, PDF, "sneaky.pdf").status_code == 404
    refused = attach(own, b"<html><script>x</script></html>", "page.txt")
    assert "not accepted" in client.get(refused.location).text

    [stored] = _files(tenant_a)
    assert (stored.record_id, stored.uploaded_by_contact_id, stored.name) == (
        uuid.UUID(own), uuid.UUID(ann), "photo of error.pdf",
    )  # fmt: skip


def test_an_agent_attaches_a_file_to_a_reply_of_the_ticket_and_to_no_other(client, tenant_a):
    from saas.modules.service.tickets import add_staff_message
    from tests.files.conftest import Api

    ticket, other = add_ticket(tenant_a), add_ticket(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        reply = add_staff_message(session, uuid.UUID(ticket), body="Here is the fix", kind="public")
        foreign = add_staff_message(session, uuid.UUID(other), body="Elsewhere", kind="note")
    api = Api(client, tenant_a)

    def upload(record_type, record_id, message_id):
        data = {"record_type": record_type, "record_id": record_id, "message_id": str(message_id),
                "file": (io.BytesIO(PDF), "fix.pdf")}  # fmt: skip
        return client.post(
            "/api/v1/files", data=data, headers=api.headers, content_type="multipart/form-data"
        )

    attached = upload("tickets", ticket, reply.id)
    assert attached.status_code == 201 and attached.get_json()["message_id"] == str(reply.id)
    for record_type, record_id, message_id in (
        ("tickets", ticket, foreign.id),  # another ticket's reply
        ("contacts", add_contact(tenant_a, first_name="Di"), reply.id),  # a record type without replies
    ):
        refused = upload(record_type, record_id, message_id)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [f.name for f in _files(tenant_a)] == ["fix.pdf"]
