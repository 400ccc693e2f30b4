"""Fixtures for mailboxes connected through an OAuth provider (import them into a test module): the
Authlib provider on loopback, Dovecot taking XOAUTH2 tokens it vouches for, the SMTP server that
requires XOAUTH2, the operator's configuration naming them, and a member's browser through the dance."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from saas.development.dovecot import start_dovecot
from tests.conftest import csrf_token_from
from tests.mailbox.conftest import PASSWORD, SALES
from tests.mailbox.oauth_provider import APP_CLIENT, Provider, start_oauth_sink

CALLBACK = "http://localhost/mailbox/oauth/callback"


@pytest.fixture
def provider():
    server = Provider(SALES).start()
    server.allow_redirect(CALLBACK)
    yield server
    server.stop()


@pytest.fixture
def oauth_dovecot(provider):
    server = start_dovecot(oauth2_introspection_url=provider.introspection_url)
    server.add_user(SALES, PASSWORD)  # the user database; the tests also deliver mail with the password
    yield server
    server.close()


@pytest.fixture
def oauth_sink(provider):
    controller, sink, port = start_oauth_sink(provider)
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture
def configured(app, monkeypatch, provider, oauth_dovecot, oauth_sink):
    """The operator's configuration: one provider, its IMAP and SMTP servers on loopback."""
    monkeypatch.setitem(app.config, "MAIL_OAUTH_PROVIDERS", [{
        "name": "local", "label": "Local Mail", "client_id": APP_CLIENT[0], "client_secret": APP_CLIENT[1],
        "authorize_url": f"{provider.url}/authorize", "token_url": f"{provider.url}/token",
        "userinfo_url": f"{provider.url}/userinfo", "scopes": "mail",
        "imap_host": oauth_dovecot.host, "imap_port": oauth_dovecot.port, "imap_security": "none",
        "smtp_host": "127.0.0.1", "smtp_port": oauth_sink.port, "smtp_security": "none",
    }])  # fmt: skip
    return provider


def connect_through_provider(client, fixture) -> requests.Response:
    """A member's browser through the whole dance; returns the app's last answer."""
    page = client.get(f"/t/{fixture.slug}/mailbox")
    assert 'data-oauth-provider="local"' in page.text
    start = client.post(
        f"/t/{fixture.slug}/mailbox/oauth/local", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert start.status_code == 302
    asked = parse_qs(urlsplit(start.location).query)
    assert (
        asked["code_challenge_method"] == ["S256"] and asked["state"] and asked["redirect_uri"] == [CALLBACK]
    )
    at_provider = requests.get(start.location, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302 and at_provider.headers["Location"].startswith(CALLBACK)
    back = client.get(at_provider.headers["Location"].removeprefix("http://localhost"))
    assert back.status_code == 302
    return client.get(back.location)
