"""Writing from the CRM through the member's own SMTP: the mail reaches the SMTP sink, is filed in the
mailbox's Sent folder over IMAP, lands on the timeline, is not stored again by the next sync, and the
customer's reply threads onto it; open and click tracking count through the public routes."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.core.models import Activity
from saas.modules.mailbox import sending
from saas.modules.mailbox.models import Mailbox, MailMessage
from saas.modules.mailbox.sync import sync_mailbox
from saas.tenants.routing import ACTOR_KEY
from tests.conftest import bearer, make_token
from tests.mailbox.conftest import SALES, add_contact, connect, deliver, imap, mail, stored


def send(connected, **fields) -> MailMessage:
    with tenant_session(connected.tenant.ref) as session:
        session.info[ACTOR_KEY] = connected.user_id
        mailbox = session.get(Mailbox, connected.mailbox_id)
        return sending.send_mail(session, mailbox, **fields)


def sync(connected) -> dict:
    with tenant_session(connected.tenant.ref) as session:
        return sync_mailbox(session, str(connected.mailbox_id))


def sent_folder_message_ids(dovecot) -> list[str]:
    with imap(dovecot) as client:
        client.select_folder("Sent", readonly=True)
        fetched = client.fetch(client.search(["ALL"]), [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return [
            data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip()
            for data in fetched.values()
        ]


def test_mail_from_the_crm_goes_through_own_smtp_into_sent_and_the_reply_threads_onto_it(
    tenant_a, dovecot, sink_port, mail_sink
):
    ivan = add_contact(tenant_a, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)

    sent = send(connected, to="ivan@cust.ru", subject="Our offer", body="Dear Ivan,\nhere it is.")

    [delivered] = mail_sink.to("ivan@cust.ru")
    assert delivered["From"] == SALES and delivered["Subject"] == "Our offer"
    assert delivered["Message-ID"] == sent.message_id_header
    assert sent_folder_message_ids(dovecot) == [sent.message_id_header]
    assert sent.folder == "Sent" and sent.uid is not None
    with tenant_session(tenant_a.ref) as session:
        [entry] = session.scalars(
            select(Activity).where(Activity.contact_id == ivan, Activity.kind == "email")
        )
        assert entry.subject == "Our offer"

    deliver(
        dovecot, mail("ivan@cust.ru", SALES, "Re: Our offer", "Thanks!", in_reply_to=sent.message_id_header)
    )
    assert sync(connected)["kept"] == 1  # the reply; the Sent copy is the message already kept

    messages = stored(tenant_a)
    assert [m.subject for m in messages] == ["Our offer", "Re: Our offer"]
    assert messages[0].thread_id == messages[1].thread_id
    reply = send(connected, to="ivan@cust.ru", subject="Our offer", body="Welcome.", reply_to=messages[1].id)
    assert reply.thread_id == sent.thread_id and reply.subject == "Re: Our offer"
    assert mail_sink.to("ivan@cust.ru")[-1]["In-Reply-To"] == messages[1].message_id_header
    assert len(sent_folder_message_ids(dovecot)) == 2


def test_only_contacts_and_known_accounts_are_written_to(tenant_a, dovecot, sink_port, mail_sink):
    connected = connect(tenant_a, dovecot, sink_port)

    with pytest.raises(ValidationError) as refused:
        send(connected, to="stranger@nowhere.example", subject="Hi", body="Hello")

    assert "to" in refused.value.errors
    assert mail_sink.messages == []


def test_opens_and_clicks_of_tracked_mail_are_counted(client, tenant_a, dovecot, sink_port, mail_sink):
    add_contact(tenant_a, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)

    sent = send(
        connected,
        to="ivan@cust.ru",
        subject="Tracked",
        body="See https://shop.example.com/offer?x=1",
        track=True,
        base_url="http://localhost/",
    )

    html = mail_sink.to("ivan@cust.ru")[0].get_body(("html",)).get_content()
    pixel = html.split('<img src="')[1].split('"')[0]
    link = html.split('<a href="')[1].split('"')[0].replace("&amp;", "&")
    assert client.get(urlparse(pixel).path).status_code == 200
    clicked = client.get(urlparse(link).path)
    assert clicked.status_code == 302 and clicked.location == "https://shop.example.com/offer?x=1"
    assert client.get(urlparse(link).path.replace("/c/", "/c/x")).status_code == 404
    with tenant_session(tenant_a.ref) as session:
        counted = session.get(MailMessage, sent.id)
        assert (counted.opens, counted.clicks) == (1, 1)


def test_sending_through_the_api(client, tenant_a, dovecot, sink_port, mail_sink):
    add_contact(tenant_a, "ivan@cust.ru")
    connect(tenant_a, dovecot, sink_port)
    headers = bearer(make_token(tenant_a))

    created = client.post(
        "/api/v1/mailbox/messages",
        json={"to": "ivan@cust.ru", "subject": "API", "body": "Hi"},
        headers=headers,
    )
    refused = client.post(
        "/api/v1/mailbox/messages",
        json={"to": "nobody@nowhere.example", "subject": "x", "body": "y"},
        headers=headers,
    )

    assert created.status_code == 201, created.get_json()
    assert created.get_json()["direction"] == "out"
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert len(mail_sink.to("ivan@cust.ru")) == 1
