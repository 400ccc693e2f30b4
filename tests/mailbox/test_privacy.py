"""Synced mail is the person's data: in their download, and gone with their erasure (attachments too)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.mailbox.models import MailThread
from saas.modules.mailbox.sync import sync_mailbox
from saas.modules.privacy.subject import collect_personal_data, data_subject, erase_subject
from tests.files.conftest import stored_keys
from tests.mailbox.conftest import SALES, add_contact, connect, deliver, mail, stored


def test_synced_mail_is_in_the_persons_download_and_erased_with_them(tenant_a, dovecot, sink_port, s3):
    ivan = add_contact(tenant_a, "ivan@cust.ru")
    add_contact(tenant_a, "li@cn.example")
    connected = connect(tenant_a, dovecot, sink_port)
    message = mail("ivan@cust.ru", SALES, "My order", "Deliver to Lenina 1.")
    message.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename="id.pdf")
    deliver(dovecot, message)
    deliver(dovecot, mail("li@cn.example", SALES, "Someone else", "Not Ivan's."))
    with tenant_session(tenant_a.ref) as session:
        sync_mailbox(session, str(connected.mailbox_id))

    with tenant_session(tenant_a.ref) as session:
        download = collect_personal_data(session, ivan)["mailbox"]["emails"]
    assert [(e["subject"], e["body"].strip(), e["attachments"]) for e in download] == [
        ("My order", "Deliver to Lenina 1.", ["id.pdf"])
    ]
    assert len(stored_keys(s3, tenant_a.tenant.id)) == 1

    with tenant_session(tenant_a.ref) as session:
        report = erase_subject(session, data_subject(session, ivan))

    assert report["mail_messages"] == 1
    assert [m.subject for m in stored(tenant_a)] == ["Someone else"]
    assert stored_keys(s3, tenant_a.tenant.id) == []
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(MailThread.subject)).all() == ["Someone else"]


@pytest.mark.parametrize(
    ("host", "security", "loopback", "field"),
    [
        ("10.0.0.8", "ssl", True, "imap_host"),  # a private network: never
        ("169.254.169.254", "ssl", True, "imap_host"),  # cloud metadata
        ("127.0.0.1", "none", False, "imap_host"),  # loopback only where the deployment allows it
    ],
)
def test_a_mailbox_cannot_point_at_the_deployments_own_network(
    app, tenant_a, dovecot, sink_port, monkeypatch, host, security, loopback, field
):
    monkeypatch.setitem(app.config, "MAILBOX_ALLOW_LOOPBACK", loopback)

    with pytest.raises(ValidationError) as refused:
        connect(tenant_a, dovecot, sink_port, imap_host=host, imap_security=security)

    assert field in refused.value.errors
