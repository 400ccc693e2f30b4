"""Identity fixtures: an OpenID Connect provider (Authlib) on loopback, SSO tenants, a mail sink."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from saas.auth.sso import save_sso_config
from saas.db import db
from tests.auth.oidc_provider import OidcProvider
from tests.conftest import TenantFixture, csrf_token_from
from tests.privacy.conftest import MailSink, _free_port

CLIENT_SECRET = "idp-client-secret-0123456789"


class Browser(FlaskClient):
    """A test client whose every request runs in its own app context, as real requests do.

    Requests made inside the tests' outer app context would share its ``g`` (Flask-Login's user,
    the bound tenant, the CSRF token), so two people's browsers would bleed into each other.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def new_browser(app: Flask) -> Browser:
    return Browser(app, app.response_class, use_cookies=True)


@pytest.fixture
def client(app) -> Browser:
    return new_browser(app)


@pytest.fixture(scope="session")
def idp():
    provider = OidcProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def fresh_idp(idp):
    """The session's provider with every knob back at its default after the test."""
    yield idp
    idp.user_email = None
    idp.email_verified = True
    idp.claim_overrides = {}
    idp.signing_key = idp.key
    idp.token_requests.clear()


def configure_sso(
    idp: OidcProvider,
    fixture: TenantFixture,
    *,
    domains: str = "sso.example",
    required: bool = False,
    default_role: str = "member",
) -> str:
    """Register the tenant at the provider and configure it through the service; returns the client id."""
    client_id = f"crm-{fixture.slug}"
    idp.add_client(client_id, CLIENT_SECRET, f"http://localhost/t/{fixture.slug}/login/callback")
    save_sso_config(
        db.session,
        fixture.tenant.id,
        issuer=idp.issuer,
        client_id=client_id,
        client_secret=CLIENT_SECRET,
        allowed_domains=domains,
        default_role=default_role,
        sso_required=required,
        enabled=True,
        actor="test",
    )
    db.session.commit()
    return client_id


def leave_for_provider(client: FlaskClient, slug: str, invitation: str | None = None):
    """Start the sign-in from the workspace's page; returns the provider's authorization URL."""
    token = csrf_token_from(client.get(f"/t/{slug}/login").text)
    data = {"csrf_token": token, **({"invitation": invitation} if invitation else {})}
    response = client.post(f"/t/{slug}/login/sso", data=data)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def provider_answer(authorization_url: str) -> str:
    """Follow the authorization URL at the provider over HTTP; returns the callback path with its query."""
    answer = requests.get(authorization_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    return f"{callback.path}?{callback.query}"


def sso_sign_in(client: FlaskClient, idp: OidcProvider, slug: str, email: str, invitation: str | None = None):
    idp.user_email = email
    return client.get(provider_answer(leave_for_provider(client, slug, invitation)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def mail_sink(app, monkeypatch):
    sink = MailSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}?tls=none")
    yield sink
    controller.stop()


def mailed_invitation_path(sink: MailSink, email: str) -> str:
    [message] = sink.to(email)
    match = re.search(r"https?://[^/\s]+(/invite/\S+)", message.get_content())
    assert match, "the mail holds no invitation link"
    return match.group(1)
