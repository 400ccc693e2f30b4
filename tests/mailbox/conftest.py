"""Mailbox fixtures: a real Dovecot IMAP server on loopback per test (``saas.development.dovecot``),
the SMTP sink, moto's S3 for attachments, and mail put into the server with APPEND as it would arrive."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from imapclient import IMAPClient
from sqlalchemy import select

from saas.auth.models import User
from saas.db import db, tenant_session
from saas.development.dovecot import start_dovecot
from saas.modules.core import services
from saas.modules.mailbox import mailboxes
from saas.modules.mailbox.models import MailMessage
from saas.tenants.routing import ACTOR_KEY
from tests.conftest import TenantFixture
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink

SALES = "sales@seller.example"
PASSWORD = "app-password-1"


@pytest.fixture
def dovecot():
    server = start_dovecot()
    server.add_user(SALES, PASSWORD)
    yield server
    server.close()


def imap(server) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False)
    client.login(SALES, PASSWORD)
    return client


def deliver(server, message: EmailMessage | bytes, folder: str = "INBOX", *, days_ago: int = 0) -> None:
    """Put a message into the mailbox as the server would have received it ``days_ago``."""
    raw = message if isinstance(message, bytes) else message.as_bytes()
    with imap(server) as client:
        client.append(folder, raw, msg_time=datetime.now(UTC) - timedelta(days=days_ago))


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    *,
    charset: str = "utf-8",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    days_ago: int = 0,
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=days_ago))
    message["Message-ID"] = message_id or make_msgid(domain="mail.example")
    if in_reply_to:
        message["In-Reply-To"], message["References"] = in_reply_to, in_reply_to
    message.set_content(body, charset=charset)
    return message


def owner_id(fixture: TenantFixture) -> uuid.UUID:
    return db.session.scalar(select(User.id).where(User.email == fixture.email))


@dataclass
class Connected:
    tenant: TenantFixture
    mailbox_id: uuid.UUID
    user_id: uuid.UUID


def connect(
    fixture: TenantFixture, server, sink_port: int, user_id: uuid.UUID | None = None, **settings
) -> Connected:
    """Connect the Dovecot mailbox for a member (the owner unless ``user_id``) through the service."""
    user_id = user_id or owner_id(fixture)
    data = {
        "email_address": SALES, "password": PASSWORD,
        "imap_host": server.host, "imap_port": server.port, "imap_security": "none",
        "smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none",
        "sharing": "metadata", "first_sync_days": 30, **settings,
    }  # fmt: skip
    with tenant_session(fixture.ref) as session:
        session.info[ACTOR_KEY] = user_id
        mailbox = mailboxes.connect_mailbox(session, user_id, data)
    return Connected(fixture, mailbox.id, user_id)


def add_contact(fixture: TenantFixture, email: str, **fields) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return services.contacts.create(session, {"first_name": "Cy", "email": email, **fields}).id


def add_account(fixture: TenantFixture, name: str, domain: str) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return services.accounts.create(session, {"name": name, "domain": domain}).id


def stored(fixture: TenantFixture) -> list[MailMessage]:
    with tenant_session(fixture.ref) as session:
        return list(session.scalars(select(MailMessage).order_by(MailMessage.sent_at, MailMessage.subject)))


@pytest.fixture
def sink_port(mail_sink, app) -> int:  # noqa: F811 - the fixture imported above
    return int(app.config["SMTP_URL"].split(":")[2].split("?")[0])


# The OAuth provider and the servers that check its tokens (tests/mailbox/oauth_fixtures.py).
from tests.mailbox.oauth_fixtures import configured, oauth_dovecot, oauth_sink, provider  # noqa: E402, F401
