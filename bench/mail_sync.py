"""Mailbox sync throughput: messages per second the sync job reads from a local Dovecot and keeps
(parse, match against contacts, thread, store with the timeline entries, commit per batch), against a
bare imapclient loop that only fetches the same messages in batches of the same size.

The mailbox holds ``--messages`` mails from ``--contacts`` known contacts, in several charsets and
structures (plain UTF-8, koi8-r, gb2312, multipart/alternative with a small attachment described only:
no file storage is configured here, so attachment bytes are not uploaded), plus ``--unknown`` mails
from strangers that are read and skipped.

    .venv/bin/python bench/mail_sync.py [--messages 2000] [--contacts 50] [--unknown 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-mail")
)
os.environ.setdefault("SAAS_ENV", "test")

from aiosmtpd.controller import Controller
from figures import summary  # bench/ is on the path when a bench runs
from imapclient import IMAPClient
from load import free_loopback_port
from sqlalchemy import func, select

from saas import create_app
from saas.auth.models import User
from saas.db import db, tenant_session
from saas.development.dovecot import start_dovecot
from saas.migrations import upgrade_platform
from saas.modules.core import services
from saas.modules.mailbox.mailboxes import connect_mailbox
from saas.modules.mailbox.models import MailMessage
from saas.modules.mailbox.sync import BATCH, sync_mailbox
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG = "bench-mail"
OWNER = "bench-mail@example.com"
MAILBOX, PASSWORD = "sales@seller.example", "bench-password"


def message(number: int, sender: str) -> bytes:
    kind = number % 4
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, MAILBOX
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain="bench.example")
    if kind == 0:
        mail["Subject"] = f"Order {number}"
        mail.set_content(f"Hello, about order {number}.\n" * 20)
    elif kind == 1:
        mail["Subject"] = f"Счёт {number}"
        mail.set_content(f"Добрый день, счёт {number}.\n" * 20, charset="koi8-r")
    elif kind == 2:
        mail["Subject"] = f"报价 {number}"
        mail.set_content(f"您好，报价 {number}。\n" * 20, charset="gb2312")  # noqa: RUF001
    else:
        mail["Subject"] = f"Offer {number}"
        mail.set_content(f"The offer {number}.\n" * 20)
        mail.add_alternative(f"<p>The <b>offer</b> {number}.</p>" * 20, subtype="html")
        mail.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename="offer.pdf")
    return mail.as_bytes()


def fill_mailbox(server, messages: int, contacts: int, unknown: int) -> None:
    senders = [f"customer{i}@buyer.example" for i in range(contacts)]
    raw = [message(n, senders[n % contacts]) for n in range(messages)]
    raw += [message(n, f"stranger{n}@nowhere.example") for n in range(unknown)]
    with IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(MAILBOX, PASSWORD)
        for start in range(0, len(raw), 500):
            client.multiappend("INBOX", raw[start : start + 500])


def bare_fetch_loop(server, batch: int) -> int:
    """The baseline: log in, select, search, fetch every message's bytes in batches; nothing else."""
    fetched = 0
    with IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(MAILBOX, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        for start in range(0, len(uids), batch):
            fetched += len(client.fetch(uids[start : start + batch], [b"BODY.PEEK[]"]))
    return fetched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000, help="mails from known contacts")
    parser.add_argument("--contacts", type=int, default=50)
    parser.add_argument("--unknown", type=int, default=200, help="mails from strangers (read, not kept)")
    args = parser.parse_args()
    app = create_app()
    server = start_dovecot()
    server.add_user(MAILBOX, PASSWORD)
    # Connecting checks the SMTP login too: a sink that accepts it (nothing is sent here).
    smtp_port = free_loopback_port()
    smtp = Controller(object(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        with app.app_context():
            upgrade_platform(db.engine)
            old = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
            if old is not None:
                purge_tenant(old.id, actor="bench")
            tenant = provision_tenant(SLUG, "Bench mail", OWNER, "bench-password-1", actor="bench")
            owner = db.session.scalar(select(User.id).where(User.email == OWNER))
            with tenant_session(tenant.ref) as session:
                for i in range(args.contacts):
                    services.contacts.create(
                        session, {"first_name": f"C{i}", "email": f"customer{i}@buyer.example"}
                    )
                mailbox = connect_mailbox(
                    session, owner,
                    {"email_address": MAILBOX, "password": PASSWORD, "imap_host": server.host,
                     "imap_port": server.port, "imap_security": "none", "smtp_host": "127.0.0.1",
                     "smtp_port": smtp_port, "smtp_security": "none", "first_sync_days": 1},
                )  # fmt: skip
            started = time.perf_counter()
            fill_mailbox(server, args.messages, args.contacts, args.unknown)
            total = args.messages + args.unknown
            print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
            print(f"appended {total:,} messages to Dovecot in {time.perf_counter() - started:.1f} s")

            started = time.perf_counter()
            assert bare_fetch_loop(server, BATCH) == total
            baseline = time.perf_counter() - started

            started = time.perf_counter()
            with tenant_session(tenant.ref) as session:
                result = sync_mailbox(session, str(mailbox.id))
            elapsed = time.perf_counter() - started
            with tenant_session(tenant.ref) as session:
                kept = session.scalar(select(func.count()).select_from(MailMessage))
            assert result == {"read": total, "kept": args.messages} and kept == args.messages, (result, kept)

            job_rate, bare_rate = total / elapsed, total / baseline
            print(
                f"bare imapclient fetch loop: {total:,} messages in {baseline:.2f} s, {bare_rate:,.0f} msg/s"
            )
            print(
                f"sync job (kept {kept:,}):      {total:,} messages in {elapsed:.2f} s, {job_rate:,.0f} msg/s"
            )
            print(f"\nsync throughput: job at {job_rate / bare_rate:.0%} of a bare fetch loop "
                  f"(ratio {bare_rate / job_rate:.1f}x slower)")  # fmt: skip
            summary(
                f"mailbox sync, {total:,} messages from Dovecot (msg/s)", "-", job_rate, bare_rate,
                job_rate / bare_rate,
            )  # fmt: skip
            purge_tenant(tenant.id, actor="bench")
    finally:
        smtp.stop()
        server.close()


if __name__ == "__main__":
    sys.exit(main())
