"""The mailbox pages and API: connecting through the form (bad input re-renders with its message),
who sees what of a thread (sharing level), disconnecting with or without the mail, and another
workspace reaching none of it by id, page or API."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.db import tenant_session
from saas.exports import storage
from saas.modules.core.models import Activity
from saas.modules.mailbox.models import MailAttachment, Mailbox, MailMessage, MailThread
from saas.modules.mailbox.sync import sync_mailbox
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.files.conftest import stored_keys
from tests.mailbox.conftest import PASSWORD, SALES, add_contact, connect, deliver, mail, stored

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def synced_thread(fixture, dovecot, sink_port, **connect_options) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A contact's mail with an attachment, synced: (contact id, thread id, attachment id)."""
    contact = add_contact(fixture, "ivan@cust.ru")
    connected = connect(fixture, dovecot, sink_port, **connect_options)
    message = mail("ivan@cust.ru", SALES, "Contract draft", "The secret terms are attached.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="contract.pdf")
    deliver(dovecot, message)
    with tenant_session(fixture.ref) as session:
        sync_mailbox(session, str(connected.mailbox_id))
        attachment = session.scalar(select(MailAttachment))
        return contact, session.scalar(select(MailThread.id)), attachment.id


def test_connecting_through_the_page_refuses_bad_input_then_connects(client, tenant_a, dovecot, sink_port):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/mailbox")
    form = {
        "csrf_token": csrf_token_from(page.text), "email_address": SALES, "password": "wrong",
        "imap_host": dovecot.host, "imap_port": str(dovecot.port), "imap_security": "none",
        "smtp_host": "127.0.0.1", "smtp_port": str(sink_port), "smtp_security": "none",
        "sharing": "metadata", "first_sync_days": "30", "excluded": "boss@cust.ru\nprivate.example",
    }  # fmt: skip

    wrong_password = client.post(f"/t/{tenant_a.slug}/mailbox/connect", data=form)
    bad_port = client.post(f"/t/{tenant_a.slug}/mailbox/connect", data={**form, "imap_port": "99999"})
    bad_exclusion = client.post(
        f"/t/{tenant_a.slug}/mailbox/connect", data={**form, "excluded": "not an address"}
    )
    connected = client.post(f"/t/{tenant_a.slug}/mailbox/connect", data={**form, "password": PASSWORD})

    assert wrong_password.status_code == 422 and "The IMAP server refused" in wrong_password.text
    assert bad_port.status_code == 422 and "A port from 1 to 65535." in bad_port.text
    assert bad_exclusion.status_code == 422 and "neither an address nor a domain" in bad_exclusion.text
    assert connected.status_code == 302
    page = client.get(f"/t/{tenant_a.slug}/mailbox")
    assert 'data-mailbox="connected"' in page.text and SALES in page.text
    with tenant_session(tenant_a.ref) as session:
        mailbox = session.scalar(select(Mailbox))
        assert mailbox.excluded == ["boss@cust.ru", "private.example"]
        assert mailbox.secret_encrypted and PASSWORD not in mailbox.secret_encrypted


def test_others_see_only_metadata_unless_the_owner_shares_whole_messages(
    client, tenant_a, dovecot, sink_port, s3
):
    # The mailbox is another member's: the workspace owner reads it as a colleague.
    colleague = uuid.uuid4()
    contact, thread, attachment = synced_thread(tenant_a, dovecot, sink_port, user_id=colleague)
    headers = bearer(make_token(tenant_a))
    login(client, tenant_a.email, tenant_a.password)

    as_colleague = client.get(f"/api/v1/mailbox/threads/{thread}", headers=headers).get_json()
    page = client.get(f"/t/{tenant_a.slug}/mailbox/threads/{thread}")
    contact_page = client.get(f"/t/{tenant_a.slug}/contacts/{contact}")
    download = client.get(f"/t/{tenant_a.slug}/mailbox/attachments/{attachment}")

    assert as_colleague["whole"] is False
    assert (
        as_colleague["messages"][0]["body_text"] is None and as_colleague["messages"][0]["attachments"] == []
    )
    assert page.status_code == 200 and "Contract draft" in page.text and "secret terms" not in page.text
    assert "Send reply" not in page.text  # only the owner replies from the mailbox
    assert "Contract draft" in contact_page.text and "secret terms" not in contact_page.text
    assert download.status_code == 404

    with tenant_session(tenant_a.ref) as session:
        session.get(Mailbox, session.scalar(select(Mailbox.id))).sharing = "full"
    shared = client.get(f"/api/v1/mailbox/threads/{thread}", headers=headers).get_json()
    assert shared["whole"] is True and "secret terms" in shared["messages"][0]["body_text"]
    assert client.get(f"/t/{tenant_a.slug}/mailbox/attachments/{attachment}").data == PDF


def test_changing_the_sharing_level_rewrites_the_timeline(client, tenant_a, dovecot, sink_port, s3):
    contact, _, _ = synced_thread(tenant_a, dovecot, sink_port)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/mailbox")
    token = csrf_token_from(page.text)

    bad = client.post(f"/t/{tenant_a.slug}/mailbox/settings", data={"csrf_token": token, "sharing": "all"})
    saved = client.post(
        f"/t/{tenant_a.slug}/mailbox/settings",
        data={"csrf_token": token, "sharing": "full", "first_sync_days": "10", "excluded": ""},
    )

    assert bad.status_code == 422
    assert saved.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        [entry] = session.scalars(select(Activity).where(Activity.contact_id == contact))
        assert "secret terms" in entry.body


def test_disconnecting_forgets_the_password_and_keeps_or_deletes_the_mail(
    client, tenant_a, dovecot, sink_port, s3
):
    contact, _, attachment = synced_thread(tenant_a, dovecot, sink_port)
    login(client, tenant_a.email, tenant_a.password)
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/mailbox").text)

    client.post(f"/t/{tenant_a.slug}/mailbox/disconnect", data={"csrf_token": token, "synced_mail": "keep"})
    with tenant_session(tenant_a.ref) as session:
        mailbox = session.scalar(select(Mailbox))
        assert mailbox.status == "disconnected" and mailbox.secret_encrypted is None
        key = storage.tenant_object_key(
            tenant_a.tenant.id, session.get(MailAttachment, attachment).object_name
        )
    assert len(stored(tenant_a)) == 1
    before = stored_keys(s3, tenant_a.tenant.id)

    connect(tenant_a, dovecot, sink_port)  # the same address again: its kept mail is still its own
    client.post(f"/t/{tenant_a.slug}/mailbox/disconnect", data={"csrf_token": token, "synced_mail": "delete"})
    assert stored(tenant_a) == []
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Mailbox.id)) is None
        assert list(session.scalars(select(Activity).where(Activity.contact_id == contact))) == []
    assert key in before and stored_keys(s3, tenant_a.tenant.id) == []


def test_another_workspace_reaches_no_mailbox_thread_or_attachment(
    client, tenant_a, tenant_b, dovecot, sink_port, s3
):
    contact, thread, attachment = synced_thread(tenant_a, dovecot, sink_port, sharing="full")
    b_headers = bearer(make_token(tenant_b))
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/mailbox").text)
    with tenant_session(tenant_a.ref) as session:
        message = session.scalar(select(MailMessage.id))

    answers = [
        client.get(f"/api/v1/mailbox/threads/{thread}", headers=b_headers),
        client.post(
            "/api/v1/mailbox/messages",
            json={"to": "ivan@cust.ru", "subject": "x", "body": "y", "reply_to": str(message)},
            headers=b_headers,
        ),
        client.get(f"/t/{tenant_b.slug}/mailbox/threads/{thread}"),
        client.post(
            f"/t/{tenant_b.slug}/mailbox/threads/{thread}/reply", data={"csrf_token": token, "body": "x"}
        ),
        client.get(f"/t/{tenant_b.slug}/mailbox/attachments/{attachment}"),
        client.get(f"/t/{tenant_b.slug}/mailbox/compose?contact_id={contact}"),
    ]
    listed = client.get(
        f"/api/v1/mailbox/threads?record_type=contacts&record_id={contact}", headers=b_headers
    ).get_json()
    # A's own page, with B's session: the slug only chooses among B's own memberships.
    a_page = client.get(f"/t/{tenant_a.slug}/mailbox/threads/{thread}")

    for response in answers:
        assert response.status_code == 404, (response.request.path, response.status_code)
        assert "Contract draft" not in response.text and "secret terms" not in response.text
    assert listed == {"data": []}
    assert a_page.status_code in (302, 403, 404) and "Contract draft" not in a_page.text
    assert SALES not in client.get(f"/t/{tenant_b.slug}/mailbox").text
    assert len(stored(tenant_a)) == 1
