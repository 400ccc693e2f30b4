# ruff: noqa: RUF001 - the mail is in Russian, Chinese and Arabic on purpose
"""Sync against a real Dovecot: exactly the mail of known contacts and accounts' domains is kept, once,
whatever its charset and MIME structure; an interrupted sync resumes without duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from saas.db import tenant_session
from saas.exports import storage
from saas.modules.core.models import Activity
from saas.modules.mailbox.models import Mailbox, MailFolder, MailMessage, MailThread
from saas.modules.mailbox.sync import sync_mailbox
from tests.conftest import bearer, make_token
from tests.mailbox.conftest import SALES, add_account, add_contact, connect, deliver, mail, stored

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def raw_mail(
    sender: str, to: str, subject: str, body: str, charset: str, name: str = "", **headers: str
) -> bytes:
    """A single-part message whose sender's name, subject and 8-bit body are in ``charset`` itself, as
    older clients send them."""
    lines = [
        f"From: {Header(name, charset).encode()} <{sender}>" if name else f"From: {sender}",
        f"To: {to}",
        f"Subject: {Header(subject, charset).encode()}",
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {make_msgid(domain='mail.example')}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "MIME-Version: 1.0",
        f'Content-Type: text/plain; charset="{charset}"',
        "Content-Transfer-Encoding: 8bit",
    ]
    return "\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + body.encode(charset) + b"\r\n"


def alternative_with_attachments(sender: str) -> EmailMessage:
    message = mail(sender, SALES, "Offer with files", "The plain text of the offer.")
    message.add_alternative("<p>The <b>HTML</b> of the offer.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="offer.pdf")
    message.add_attachment(
        "Товар;Цена\nСтол;100\n".encode(), maintype="text", subtype="csv", filename="отчёт.csv"
    )
    return message


def sync(connected, **options) -> dict:
    with tenant_session(connected.tenant.ref) as session:
        return sync_mailbox(session, str(connected.mailbox_id), **options)


def test_sync_keeps_exactly_the_mail_of_known_people_once_in_any_charset(tenant_a, dovecot, sink_port, s3):
    ivan = add_contact(tenant_a, "ivan@cust.ru", first_name="Иван")
    li = add_contact(tenant_a, "li@cn.example")
    add_contact(tenant_a, "pat@private.example")
    arab = add_account(tenant_a, "Arab Trading", "https://www.arab.example/")
    connected = connect(tenant_a, dovecot, sink_port, excluded="private.example")

    deliver(
        dovecot,
        raw_mail("ivan@cust.ru", SALES, "Счёт на оплату", "Добрый день! Счёт ниже.", "koi8-r", "Иван"),
    )
    quote = raw_mail("li@cn.example", SALES, "报价单", "您好，请查收报价。", "gb2312")
    deliver(dovecot, quote)
    deliver(dovecot, raw_mail("omar@arab.example", SALES, "عرض سعر", "مرحبا، هذا عرض السعر.", "windows-1256"))
    deliver(dovecot, alternative_with_attachments("ivan@cust.ru"))
    deliver(dovecot, mail("stranger@nowhere.example", SALES, "Unknown sender", "Not a customer."))
    deliver(dovecot, mail("pat@private.example", SALES, "Excluded domain", "Never synced."))
    deliver(dovecot, mail("ivan@cust.ru", SALES, "Too old", "Before the window.", days_ago=60), days_ago=60)
    quote_id = next(line for line in quote.split(b"\r\n") if line.startswith(b"Message-ID")).split(b" ")[1]
    answer = mail(SALES, "li@cn.example", "Re: 报价单", "谢谢！", in_reply_to=quote_id.decode())
    deliver(dovecot, answer, folder="Sent")

    first = sync(connected)
    again = sync(connected)

    messages = stored(tenant_a)
    assert sorted(m.subject for m in messages) == sorted(
        ["Счёт на оплату", "报价单", "عرض سعر", "Offer with files", "Re: 报价单"]
    )
    by_subject = {m.subject: m for m in messages}
    assert "Добрый день! Счёт ниже." in by_subject["Счёт на оплату"].body_text
    assert by_subject["Счёт на оплату"].from_name == "Иван"
    assert "您好，请查收报价。" in by_subject["报价单"].body_text
    assert "مرحبا، هذا عرض السعر." in by_subject["عرض سعر"].body_text
    assert by_subject["Offer with files"].body_text.strip() == "The plain text of the offer."
    assert by_subject["Re: 报价单"].direction == "out"
    assert by_subject["Re: 报价单"].thread_id == by_subject["报价单"].thread_id
    attachments = {a.name: a for a in by_subject["Offer with files"].attachments}
    assert sorted(attachments) == ["offer.pdf", "отчёт.csv"]
    key = storage.tenant_object_key(tenant_a.tenant.id, attachments["offer.pdf"].object_name)
    assert b"".join(storage.object_chunks(key, cell=tenant_a.ref.cell)) == PDF
    assert first == {"read": 7, "kept": 5}  # the 60-day-old message is outside the 30-day window
    assert again == {"read": 0, "kept": 0}  # CONDSTORE: neither folder changed

    with tenant_session(tenant_a.ref) as session:
        entries = list(session.scalars(select(Activity).where(Activity.kind == "email")))
        assert sorted(e.subject for e in entries if e.contact_id == ivan) == [
            "Offer with files",
            "Счёт на оплату",
        ]
        assert [e.subject for e in entries if e.contact_id == li] == ["报价单"]
        assert "2 messages" in next(e.body for e in entries if e.contact_id == li)
        assert [e.subject for e in entries if e.account_id == arab] == ["عرض سعر"]
        # Sharing is "metadata": the timeline shows who wrote to whom, never the text.
        assert all("Счёт ниже" not in (e.body or "") for e in entries)
        assert session.scalar(select(MailThread.id).where(MailThread.subject == "Unknown sender")) is None

    deliver(dovecot, mail("li@cn.example", SALES, "One more", "新消息"))
    assert sync(connected) == {"read": 1, "kept": 1}
    assert len(stored(tenant_a)) == 6


def test_an_interrupted_sync_resumes_without_duplicates(tenant_a, dovecot, sink_port):
    add_contact(tenant_a, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)
    for number in range(7):
        deliver(dovecot, mail("ivan@cust.ru", SALES, f"Message {number}", f"Body {number}"))
    # One without a Message-ID: only its place in the folder can keep it from being stored twice.
    deliver(dovecot, b"From: ivan@cust.ru\r\nTo: sales@seller.example\r\nSubject: No id\r\n\r\nbare\r\n")

    def crash_after_first_batch(read: int) -> None:
        if read == 3:
            dovecot.crash()  # the server dies mid-sync: the next fetch fails on a dropped connection

    with pytest.raises((IMAPClientError, OSError)):
        sync(connected, batch_size=3, progress=crash_after_first_batch)

    assert len(stored(tenant_a)) == 3
    with tenant_session(tenant_a.ref) as session:
        mailbox = session.get(Mailbox, connected.mailbox_id)
        assert mailbox.last_error
        inbox = session.scalar(select(MailFolder).where(MailFolder.name == "INBOX"))
        assert inbox.last_uid == 3

    dovecot.start()
    assert sync(connected, batch_size=3) == {"read": 5, "kept": 5}
    assert sync(connected, batch_size=3)["read"] == 0

    messages = stored(tenant_a)
    assert sorted(m.subject for m in messages) == sorted([f"Message {n}" for n in range(7)] + ["No id"])
    assert len({(m.folder, m.uidvalidity, m.uid) for m in messages}) == 8
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Mailbox, connected.mailbox_id).last_error is None


def test_a_renumbered_folder_is_read_again_without_duplicates(tenant_a, dovecot, sink_port):
    add_contact(tenant_a, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)
    deliver(dovecot, mail("ivan@cust.ru", SALES, "Before", "x"))
    sync(connected)
    with tenant_session(tenant_a.ref) as session:
        # As if the server had been rebuilt: another UIDVALIDITY than the folder's.
        session.scalar(select(MailFolder).where(MailFolder.name == "INBOX")).uidvalidity = 1

    deliver(dovecot, mail("ivan@cust.ru", SALES, "After", "y"))
    assert sync(connected)["kept"] == 1
    assert sorted(m.subject for m in stored(tenant_a)) == ["After", "Before"]


def test_sync_of_a_disconnected_mailbox_does_nothing(tenant_a, dovecot, sink_port):
    add_contact(tenant_a, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)
    with tenant_session(tenant_a.ref) as session:
        from saas.modules.mailbox.mailboxes import disconnect_mailbox

        disconnect_mailbox(session, session.get(Mailbox, connected.mailbox_id), keep_mail=True)
    deliver(dovecot, mail("ivan@cust.ru", SALES, "Later", "x"))
    assert sync(connected) == {"skipped": "not connected"}
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Mailbox, connected.mailbox_id).secret_encrypted is None
        assert session.scalar(select(MailMessage.id)) is None


def test_kept_mail_lands_on_the_contacts_account_and_open_deal_timelines(
    client, tenant_a, dovecot, sink_port
):
    account = add_account(tenant_a, "Cust Ltd", "cust.ru")
    ivan = add_contact(tenant_a, "ivan@cust.ru", account_id=account)
    headers = bearer(make_token(tenant_a))
    deal = client.post("/api/v1/deals", json={"name": "Desks", "contact_ids": [str(ivan)]}, headers=headers)
    deal_id = deal.get_json()["id"]
    connected = connect(tenant_a, dovecot, sink_port)
    deliver(dovecot, mail("ivan@cust.ru", SALES, "About the desks", "Twelve, please."))

    sync(connected)

    for path in (
        f"/api/v1/activities?contact_id={ivan}",
        f"/api/v1/activities?account_id={account}",
        f"/api/v1/activities?subject_type=deals&subject_id={deal_id}",
    ):
        listed = client.get(path, headers=headers).get_json()["data"]
        assert [e["subject"] for e in listed if e["kind"] == "email"] == ["About the desks"], path


def test_the_periodic_job_queues_syncs_only_where_the_module_is_on(tenant_a, tenant_b, dovecot, sink_port):
    from saas.db import db
    from saas.jobs import make_worker
    from saas.modules.mailbox.sync import sync_all_mailboxes
    from saas.modules.switches import set_module_enabled

    add_contact(tenant_a, "ivan@cust.ru")
    add_contact(tenant_b, "ivan@cust.ru")
    connected = connect(tenant_a, dovecot, sink_port)
    connect(tenant_b, dovecot, sink_port)
    set_module_enabled(db.session, tenant_b.tenant.id, "mailbox", False, actor="test")
    db.session.commit()
    deliver(dovecot, mail("ivan@cust.ru", SALES, "Periodic", "x"))

    report = sync_all_mailboxes()
    make_worker().work(burst=True)

    assert report["skipped"][tenant_b.tenant.id] == "module_off"
    assert [m.subject for m in stored(tenant_a)] == ["Periodic"]
    assert stored(tenant_b) == []
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Mailbox, connected.mailbox_id).last_synced_at is not None
