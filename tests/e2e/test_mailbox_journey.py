"""A salesperson connects their own mailbox (Dovecot), sees a customer's mail on the contact, replies
from the CRM, and the reply is in the mailbox's Sent folder (and went out through their SMTP server)."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient
from playwright.sync_api import Page, expect

from saas.db import tenant_session
from saas.modules.core import services
from tests.e2e.conftest import add_rep, sign_in
from tests.mailbox.conftest import PASSWORD as MAILBOX_PASSWORD
from tests.mailbox.conftest import SALES, dovecot, mail  # noqa: F401 - the Dovecot fixture
from tests.mailsink import MailSink, start_sink


@pytest.fixture
def smtp_sink():
    sink = MailSink()
    controller, url = start_sink(sink)
    yield sink, int(url.split(":")[2].split("?")[0])
    controller.stop()


def test_a_salesperson_connects_a_mailbox_and_replies_to_a_customer_from_the_crm(
    page: Page,
    app,
    tenant_a,
    dovecot,  # noqa: F811 - the fixture imported above
    smtp_sink,
):
    from saas.jobs import make_worker

    sink, sink_port = smtp_sink
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(
            session, {"first_name": "Olga", "last_name": "Petrova", "email": "olga@customer.example"}
        )
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(SALES, MAILBOX_PASSWORD)
        client.append(
            "INBOX", mail("olga@customer.example", SALES, "Delivery dates", "When can you ship?").as_bytes()
        )
        client.append(
            "INBOX", mail("someone@else.example", SALES, "Private note", "Not a customer.").as_bytes()
        )
    rep = add_rep(tenant_a)
    sign_in(page, rep)

    page.goto(f"/t/{tenant_a.slug}/mailbox")
    page.locator("#mb-email_address").fill(SALES)
    page.locator("#mb-password").fill(MAILBOX_PASSWORD)
    page.locator("#mb-imap_host").fill(dovecot.host)
    page.locator("#mb-imap_port").fill(str(dovecot.port))
    page.locator("#mb-imap_security").select_option("none")
    page.locator("#mb-smtp_host").fill("127.0.0.1")
    page.locator("#mb-smtp_port").fill(str(sink_port))
    page.locator("#mb-smtp_security").select_option("none")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("[data-mailbox=connected]")).to_contain_text(SALES)

    with app.app_context():
        make_worker().work(burst=True)  # the sync job the connection queued

    page.goto(f"/t/{tenant_a.slug}/contacts/{contact.id}")
    panel = page.locator("[data-panel=mailbox]")
    expect(panel).to_contain_text("Delivery dates")
    expect(panel).not_to_contain_text("Private note")
    expect(page.locator("#timeline")).to_contain_text("Delivery dates")
    panel.get_by_role("link", name="Delivery dates").click()
    expect(page.locator(".mail-body")).to_contain_text("When can you ship?")
    expect(page.locator("#mb-to")).to_have_value("olga@customer.example")
    page.locator("#mb-body").fill("Next Tuesday, Olga.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".mail-message")).to_have_count(2)
    expect(page.locator(".mail-message").last).to_contain_text("Next Tuesday, Olga.")

    [sent] = sink.to("olga@customer.example")
    assert sent["Subject"] == "Re: Delivery dates" and sent["From"] == SALES
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(SALES, MAILBOX_PASSWORD)
        client.select_folder("Sent", readonly=True)
        filed = client.fetch(client.search(["ALL"]), [b"ENVELOPE"])
    assert [data[b"ENVELOPE"].subject.decode() for data in filed.values()] == ["Re: Delivery dates"]
    assert [data[b"ENVELOPE"].message_id.decode() for data in filed.values()] == [sent["Message-ID"]]
