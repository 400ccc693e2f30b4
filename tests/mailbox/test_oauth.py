"""Mailboxes connected through an OAuth provider: the connect dance (code, PKCE, state) against a real
Authlib authorization server on loopback, sync over IMAP XOAUTH2 with Dovecot checking each token at
the provider, a reply sent over SMTP XOAUTH2, tokens renewed when they lapse, a revoked grant that
marks the mailbox and stops its sync, and one workspace's tokens never serving another."""

from __future__ import annotations

import json
import logging
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from saas.auth.crypto import decrypt_secret
from saas.db import tenant_session
from saas.exports.services import export_tenant_to_file
from saas.modules.mailbox import mailboxes
from saas.modules.mailbox.models import Mailbox, MailMessage
from saas.modules.mailbox.sending import send_mail
from saas.modules.mailbox.sync import sync_mailbox
from saas.tenants.routing import ACTOR_KEY
from tests.conftest import csrf_token_from, login
from tests.mailbox.conftest import SALES, add_contact, deliver, imap, mail, owner_id
from tests.mailbox.oauth_fixtures import connect_through_provider


def the_mailbox(fixture) -> Mailbox:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(Mailbox))


def sync(fixture) -> dict:
    with tenant_session(fixture.ref) as session:
        return sync_mailbox(session, str(the_mailbox(fixture).id))


def test_connecting_through_the_provider_syncs_and_replies_over_xoauth2(
    client, tenant_a, configured, oauth_dovecot, oauth_sink, app_ctx
):
    contact = "olga@cust.example"
    add_contact(tenant_a, contact)
    deliver(oauth_dovecot, mail(contact, SALES, "Offer", "Send us the offer."))
    login(client, tenant_a.email, tenant_a.password)

    finished = connect_through_provider(client, tenant_a)

    assert finished.status_code == 302 and finished.location.endswith(f"/t/{tenant_a.slug}/mailbox")
    mailbox = the_mailbox(tenant_a)
    assert (mailbox.auth_method, mailbox.oauth_provider, mailbox.email_address) == ("oauth2", "local", SALES)
    issued = configured.tokens[-1]
    assert decrypt_secret(mailbox.access_token_encrypted) == issued.access_token
    assert decrypt_secret(mailbox.secret_encrypted) == issued.refresh_token
    assert issued.access_token not in mailbox.access_token_encrypted

    assert sync(tenant_a) == {"read": 1, "kept": 1}
    assert "method=XOAUTH2" in oauth_dovecot.log()

    with tenant_session(tenant_a.ref) as session:
        session.info[ACTOR_KEY] = owner_id(tenant_a)
        box = session.get(Mailbox, mailbox.id)
        parent = session.scalar(select(MailMessage))
        send_mail(session, box, to=contact, subject="Offer", body="Here it is.", reply_to=parent.id)
    # One XOAUTH2 login when connecting (the servers are tried before anything is stored), one to send.
    assert oauth_sink.logins == [SALES, SALES]
    assert [m["Subject"] for m in oauth_sink.to(contact)] == ["Re: Offer"]
    with imap(oauth_dovecot) as server:
        server.select_folder("Sent", readonly=True)
        assert len(server.search(["SUBJECT", "Re: Offer"])) == 1


def test_an_access_token_that_lapsed_is_renewed_and_sync_goes_on(
    client, tenant_a, configured, oauth_dovecot, app_ctx
):
    contact = "olga@cust.example"
    add_contact(tenant_a, contact)
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    first = the_mailbox(tenant_a).access_token_encrypted

    # The provider ends the token early: Dovecot refuses it, the sync renews it and logs in again.
    configured.expire_access_tokens()
    deliver(oauth_dovecot, mail(contact, SALES, "One", "First."))
    assert sync(tenant_a) == {"read": 1, "kept": 1}
    assert configured.refreshes == 1
    renewed = the_mailbox(tenant_a)
    assert renewed.access_token_encrypted != first and renewed.status == "connected"

    # Near its stated expiry: renewed before connecting at all.
    with tenant_session(tenant_a.ref) as session:
        session.get(Mailbox, renewed.id).token_expires_at = datetime.now(UTC) + timedelta(seconds=5)
    deliver(oauth_dovecot, mail(contact, SALES, "Two", "Second."))
    assert sync(tenant_a) == {"read": 1, "kept": 1}
    assert configured.refreshes == 2
    assert decrypt_secret(the_mailbox(tenant_a).access_token_encrypted) == configured.tokens[-1].access_token


def test_a_revoked_grant_marks_the_mailbox_for_reconnecting_and_stops_its_sync(
    client, tenant_a, configured, oauth_dovecot, app_ctx
):
    add_contact(tenant_a, "olga@cust.example")
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    configured.revoke_everything()

    assert sync(tenant_a) == {"stopped": "needs reconnecting"}
    mailbox = the_mailbox(tenant_a)
    assert mailbox.status == "reconnect" and mailbox.access_token_encrypted is None
    assert "connect it again" in mailbox.last_error
    page = client.get(f"/t/{tenant_a.slug}/mailbox")
    assert 'data-mailbox="reconnect"' in page.text
    # No retries: the next run does not even ask the provider.
    refreshes = configured.refreshes
    assert sync(tenant_a) == {"skipped": "not connected"} and configured.refreshes == refreshes

    # Connecting again revives the same mailbox (its mail and settings) with a new grant.
    connect_through_provider(client, tenant_a)
    again = the_mailbox(tenant_a)
    assert (again.id, again.status) == (mailbox.id, "connected")
    assert sync(tenant_a)["kept"] == 0


def test_the_dance_refuses_a_foreign_state_an_unknown_provider_and_a_stray_callback(
    client, tenant_a, configured, app_ctx
):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/mailbox")
    token = csrf_token_from(page.text)

    unknown = client.post(f"/t/{tenant_a.slug}/mailbox/oauth/nope", data={"csrf_token": token})
    stray = client.get("/mailbox/oauth/callback?code=x&state=y")
    client.post(f"/t/{tenant_a.slug}/mailbox/oauth/local", data={"csrf_token": token})
    forged = client.get(f"/t/{tenant_a.slug}/mailbox/oauth/finish?code=x&state=forged")

    assert unknown.status_code == 422 and "This mail provider is not offered." in unknown.text
    assert stray.status_code == 404
    assert forged.status_code == 422 and "start it again" in forged.text
    assert the_mailbox(tenant_a) is None and configured.tokens == []


def test_one_workspace_never_uses_or_finishes_with_another_workspaces_grant(
    client, tenant_a, tenant_b, configured, oauth_dovecot, app_ctx
):
    for fixture in (tenant_a, tenant_b):
        add_contact(fixture, "olga@cust.example")
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    # B's member starts at B, but the answer is replayed at A's finish page: refused, nothing stored.
    client.get("/logout")
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/mailbox")
    start = client.post(
        f"/t/{tenant_b.slug}/mailbox/oauth/local", data={"csrf_token": csrf_token_from(page.text)}
    )
    answer = requests.get(start.location, allow_redirects=False, timeout=10).headers["Location"]
    replayed = client.get(f"/t/{tenant_a.slug}/mailbox/oauth/finish?{urlsplit(answer).query}")
    assert replayed.status_code == 404  # B's member is no member of A
    assert the_mailbox(tenant_b) is None and len(configured.tokens) == 1  # the code was never traded

    connect_through_provider(client, tenant_b)
    a, b = the_mailbox(tenant_a), the_mailbox(tenant_b)
    a_token, b_token = decrypt_secret(a.access_token_encrypted), decrypt_secret(b.access_token_encrypted)
    assert a_token != b_token and decrypt_secret(a.secret_encrypted) != decrypt_secret(b.secret_encrypted)

    # A's grant revoked: A stops, B syncs on with its own.
    configured.revoke(a_token)
    deliver(oauth_dovecot, mail("olga@cust.example", SALES, "Hello", "Hi."))
    assert sync(tenant_a) == {"stopped": "needs reconnecting"}
    assert sync(tenant_b) == {"read": 1, "kept": 1}
    assert the_mailbox(tenant_b).status == "connected"


def test_disconnecting_forgets_the_tokens_and_no_token_reaches_the_logs(
    client, tenant_a, configured, oauth_dovecot, caplog, app_ctx
):
    add_contact(tenant_a, "olga@cust.example")
    caplog.set_level(logging.DEBUG)
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    configured.expire_access_tokens()
    sync(tenant_a)  # renews
    with tenant_session(tenant_a.ref) as session:
        mailboxes.disconnect_mailbox(session, session.scalar(select(Mailbox)), keep_mail=True)

    mailbox = the_mailbox(tenant_a)
    assert mailbox.status == "disconnected"
    assert (mailbox.secret_encrypted, mailbox.access_token_encrypted, mailbox.token_expires_at) == (None,) * 3
    assert len(configured.tokens) == 2
    ours = [r for r in caplog.records if not r.name.startswith(("authlib.oauth2", "werkzeug"))]
    logged = "\n".join(f"{record.name} {record.getMessage()}" for record in ours)
    assert "renewed" in logged  # the app's own lines were captured
    for token in configured.tokens:
        assert token.access_token not in logged and token.refresh_token not in logged


def test_an_export_leaves_the_tokens_out(client, tenant_a, configured, oauth_dovecot, tmp_path, app_ctx):
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    mailbox = the_mailbox(tenant_a)

    with open(tmp_path / "a.zip", "wb") as target:
        manifest = export_tenant_to_file(tenant_a.tenant, target)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
        rows = [json.loads(line) for line in archive.read("data/mailboxes.jsonl").splitlines()]

    assert {"mailboxes.secret_encrypted", "mailboxes.access_token_encrypted"} <= set(
        manifest["withheld_secrets"]
    )
    # Withheld columns are written empty (docs/export-format.md).
    assert [(r["auth_method"], r["secret_encrypted"], r["access_token_encrypted"]) for r in rows] == [
        ("oauth2", "", "")
    ]
    for secret in (
        mailbox.secret_encrypted, mailbox.access_token_encrypted,
        configured.tokens[-1].access_token, configured.tokens[-1].refresh_token,
    ):  # fmt: skip
        assert secret.encode() not in everything


def test_a_grant_the_mail_server_refuses_is_not_stored(client, tenant_a, configured, oauth_dovecot, app_ctx):
    # The provider vouches for the user, but the mail server has no such mailbox.
    oauth_dovecot.users.clear()
    oauth_dovecot.add_user("someone-else@seller.example", "x")
    login(client, tenant_a.email, tenant_a.password)

    finished = connect_through_provider(client, tenant_a)

    assert finished.status_code == 422 and "The IMAP server refused" in finished.text
    assert the_mailbox(tenant_a) is None and configured.refreshes == 0
