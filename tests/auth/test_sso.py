"""OpenID Connect single sign-on per tenant, against a real provider (Authlib) over HTTP on loopback."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.crypto import decrypt_secret
from saas.auth.models import Membership, SsoConfig, User
from saas.auth.services import add_member, find_user_by_email
from saas.db import db
from tests.auth.conftest import (
    CLIENT_SECRET,
    configure_sso,
    leave_for_provider,
    new_browser,
    provider_answer,
    query_of,
    sso_sign_in,
)
from tests.conftest import PASSWORD, csrf_token_from, login


def _audit(tenant_id: str, action: str) -> list[AuditEntry]:
    db.session.rollback()  # see what the app committed
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id, AuditEntry.action == action)
        )
    )


def _refusal_reasons(tenant_id: str) -> list[str]:
    return [e.details["reason"] for e in _audit(tenant_id, "sso.login_refused")]


def _signed_in_to(client, slug: str) -> bool:
    response = client.get(f"/t/{slug}/")
    return response.status_code == 200


def test_person_of_an_allowed_domain_signs_in_with_code_pkce_and_joins_just_in_time(
    client, tenant_a, fresh_idp
):
    configure_sso(fresh_idp, tenant_a, domains="sso.example", default_role="member")
    authorization_url = leave_for_provider(client, tenant_a.slug)
    sent = query_of(authorization_url)
    assert authorization_url.startswith(fresh_idp.issuer + "/authorize?")
    assert sent["response_type"] == "code" and sent["code_challenge_method"] == "S256"
    assert sent["state"] and sent["nonce"] and sent["code_challenge"] and "openid" in sent["scope"]

    fresh_idp.user_email = "Newcomer@SSO.example"
    response = client.get(provider_answer(authorization_url))

    assert response.status_code == 302 and response.headers["Location"] == f"/t/{tenant_a.slug}/"
    assert _signed_in_to(client, tenant_a.slug)
    # The code was exchanged with the PKCE verifier, never with the challenge alone.
    assert fresh_idp.token_requests[-1]["code_verifier"]
    user = find_user_by_email(db.session, "newcomer@sso.example")
    assert user is not None and user.password_hash is None
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant_a.tenant.id)
    )
    assert membership.role == "member"
    assert [e.target for e in _audit(tenant_a.tenant.id, "sso.member_joined")] == [str(user.id)]
    assert len(_audit(tenant_a.tenant.id, "sso.login")) == 1


def test_existing_member_outside_the_domains_signs_in_with_their_role(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a, domains="sso.example")
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, tenant_a.email)
    assert response.status_code == 302 and _signed_in_to(client, tenant_a.slug)
    # The owner stays owner: the admin's members page opens.
    assert client.get(f"/t/{tenant_a.slug}/settings/members").status_code == 200


@pytest.mark.parametrize(
    ("override", "reason", "message"),
    [
        ({"aud": "someone-else"}, "audience", "not meant for this workspace"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired", "has expired"),
        ({"nonce": "not-the-nonce-we-sent"}, "nonce", "does not belong to this sign-in"),
        ({"iss": "https://impostor.example"}, "issuer", "wrong issuer"),
    ],
)
def test_id_token_with_a_wrong_claim_is_refused(client, tenant_a, fresh_idp, override, reason, message):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.claim_overrides = override
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "someone@sso.example")
    assert response.status_code == 403 and message in response.text
    assert not _signed_in_to(client, tenant_a.slug)
    assert find_user_by_email(db.session, "someone@sso.example") is None
    assert _refusal_reasons(tenant_a.tenant.id) == [reason]


def test_id_token_signed_with_a_key_outside_the_providers_jwks_is_refused(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.signing_key = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})  # same kid, other key
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "someone@sso.example")
    assert response.status_code == 403 and not _signed_in_to(client, tenant_a.slug)
    assert _refusal_reasons(tenant_a.tenant.id) == ["signature"]


def test_answer_with_a_forged_state_is_refused_before_any_code_exchange(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.user_email = "someone@sso.example"
    callback = provider_answer(leave_for_provider(client, tenant_a.slug))
    state = query_of(callback)["state"]
    response = client.get(callback.replace(f"state={state}", "state=forged"))
    assert response.status_code == 403 and "not valid any more" in response.text
    assert fresh_idp.token_requests == [] and not _signed_in_to(client, tenant_a.slug)
    assert _refusal_reasons(tenant_a.tenant.id) == ["state"]


def test_answer_replayed_or_brought_to_another_browser_is_refused(client, app, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.user_email = "someone@sso.example"
    callback = provider_answer(leave_for_provider(client, tenant_a.slug))
    stranger = new_browser(app)
    assert stranger.get(callback).status_code == 403  # no state in the stranger's session
    assert client.get(callback).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get(f"/t/{tenant_a.slug}/").text)})
    assert client.get(callback).status_code == 403  # the state was good for one answer
    assert _refusal_reasons(tenant_a.tenant.id) == ["state", "state"]


def test_email_outside_the_allowed_domains_is_refused_and_creates_nobody(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a, domains="sso.example")
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "mallory@elsewhere.example")
    assert response.status_code == 403 and "not allowed to join" in response.text
    assert find_user_by_email(db.session, "mallory@elsewhere.example") is None
    assert _refusal_reasons(tenant_a.tenant.id) == ["domain"]


def test_unverified_email_is_refused(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.email_verified = False
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "someone@sso.example")
    assert response.status_code == 403 and _refusal_reasons(tenant_a.tenant.id) == ["email_unverified"]


def test_deactivated_member_is_refused_by_sso(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    membership = add_member(
        db.session, tenant_a.tenant.id, "left@sso.example", PASSWORD, "member", actor="test"
    )
    db.session.flush()
    from datetime import UTC, datetime

    membership.deactivated_at = datetime.now(UTC)
    db.session.commit()
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "left@sso.example")
    assert response.status_code == 403 and _refusal_reasons(tenant_a.tenant.id) == ["deactivated"]


def test_sso_required_workspace_refuses_passwords_everywhere(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a, required=True)
    refused = login(client, tenant_a.email, tenant_a.password)
    assert refused.status_code == 200 and "single sign-on only" in refused.text
    assert not _signed_in_to(client, tenant_a.slug)

    page = client.get(f"/t/{tenant_a.slug}/login")
    assert 'type="password"' not in page.text and "Sign in with single sign-on" in page.text
    direct = client.post(
        f"/t/{tenant_a.slug}/login",
        data={
            "email": tenant_a.email,
            "password": tenant_a.password,
            "csrf_token": csrf_token_from(client.get("/login").text),
        },
    )
    assert direct.status_code == 403 and not _signed_in_to(client, tenant_a.slug)

    assert sso_sign_in(client, fresh_idp, tenant_a.slug, tenant_a.email).status_code == 302
    assert _signed_in_to(client, tenant_a.slug)


def test_password_session_of_a_member_of_two_workspaces_does_not_open_the_sso_required_one(
    client, tenant_a, tenant_b, fresh_idp
):
    add_member(db.session, tenant_b.tenant.id, tenant_a.email, PASSWORD, "member", actor="test")
    db.session.commit()
    configure_sso(fresh_idp, tenant_b, required=True)
    assert login(client, tenant_a.email, tenant_a.password).status_code == 302
    assert _signed_in_to(client, tenant_a.slug)
    refused = client.get(f"/t/{tenant_b.slug}/")
    assert refused.status_code == 302 and refused.headers["Location"] == f"/t/{tenant_b.slug}/login"


def test_session_opened_by_one_workspaces_provider_does_not_open_the_same_persons_other_workspace(
    client, tenant_a, tenant_b, fresh_idp
):
    """An admin's own provider can assert any email: what it vouches for stays in its workspace."""
    add_member(db.session, tenant_b.tenant.id, tenant_a.email, PASSWORD, "member", actor="test")
    db.session.commit()
    configure_sso(fresh_idp, tenant_b)
    assert sso_sign_in(client, fresh_idp, tenant_b.slug, tenant_a.email).status_code == 302
    assert _signed_in_to(client, tenant_b.slug)
    other = client.get(f"/t/{tenant_a.slug}/")
    assert other.status_code == 302 and other.headers["Location"] == f"/t/{tenant_a.slug}/login"
    # A password sign-in there gives the person their own session back.
    page = client.get(f"/t/{tenant_a.slug}/login")
    client.post(
        f"/t/{tenant_a.slug}/login",
        data={
            "email": tenant_a.email,
            "password": tenant_a.password,
            "csrf_token": csrf_token_from(page.text),
        },
    )
    assert _signed_in_to(client, tenant_a.slug)


def test_client_secret_is_stored_encrypted(tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    stored = db.session.get(SsoConfig, tenant_a.tenant.id).client_secret_encrypted
    assert CLIENT_SECRET not in stored and decrypt_secret(stored) == CLIENT_SECRET


def test_admin_configures_sso_on_the_settings_page_and_a_wrong_issuer_gets_a_form_message(
    client, tenant_a, fresh_idp
):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/sso")
    assert page.status_code == 200 and f"/t/{tenant_a.slug}/login/callback" in page.text
    form = {
        "csrf_token": csrf_token_from(page.text),
        "issuer": fresh_idp.issuer + "/nothing-here",
        "client_id": "crm-page",
        "client_secret": "page-secret-value",
        "allowed_domains": "sso.example\nexample.org",
        "default_role": "member",
        "enabled": "y",
    }
    wrong = client.post(f"/t/{tenant_a.slug}/settings/sso", data=form)
    assert wrong.status_code == 422 and "/nothing-here/.well-known/openid-configuration" in wrong.text
    assert db.session.get(SsoConfig, tenant_a.tenant.id) is None
    bad_domain = client.post(
        f"/t/{tenant_a.slug}/settings/sso",
        data={**form, "issuer": fresh_idp.issuer, "allowed_domains": "not a domain!"},
    )
    assert bad_domain.status_code == 422

    saved = client.post(f"/t/{tenant_a.slug}/settings/sso", data={**form, "issuer": fresh_idp.issuer})
    assert saved.status_code == 302
    db.session.rollback()
    config = db.session.get(SsoConfig, tenant_a.tenant.id)
    assert config.allowed_domains == ["sso.example", "example.org"] and not config.sso_required
    # Saving again without a secret keeps the stored one.
    again = client.post(
        f"/t/{tenant_a.slug}/settings/sso",
        data={**form, "issuer": fresh_idp.issuer, "client_secret": "", "sso_required": "y"},
    )
    assert again.status_code == 302
    db.session.rollback()
    config = db.session.get(SsoConfig, tenant_a.tenant.id)
    assert config.sso_required and decrypt_secret(config.client_secret_encrypted) == "page-secret-value"
    [first, second] = _audit(tenant_a.tenant.id, "sso.config_saved")
    assert "page-secret-value" not in str(first.details) and second.details["secret_changed"] is False


def test_members_cannot_open_the_sso_settings(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "plain@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, "plain@example.com", PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/sso").status_code == 403


def test_issuer_on_a_private_address_is_refused_in_production(app, tenant_a, monkeypatch):
    from dataclasses import replace

    from saas.auth.sso import check_issuer_url
    from saas.errors import ValidationError

    monkeypatch.setitem(
        app.config, "SAAS_SETTINGS", replace(app.config["SAAS_SETTINGS"], environment="production")
    )
    for url in ("http://127.0.0.1:8080", "https://127.0.0.1", "https://10.0.0.8", "https://169.254.169.254"):
        with pytest.raises(ValidationError):
            check_issuer_url(url)


def test_unknown_workspace_sign_in_page_is_404(client):
    assert client.get("/t/no-such-workspace/login").status_code == 404
    assert client.get("/t/no-such-workspace/login/sso").status_code == 405


def test_a_sign_in_cannot_be_started_from_a_foreign_page(client, tenant_a, fresh_idp):
    """Without the CSRF token of the workspace's own page, no sign-in starts (login CSRF)."""
    configure_sso(fresh_idp, tenant_a)
    assert client.post(f"/t/{tenant_a.slug}/login/sso").status_code == 400
    assert client.get(f"/t/{tenant_a.slug}/login/sso").status_code == 405


def test_sso_sign_in_records_the_time_of_last_sign_in(client, tenant_a, fresh_idp):
    """The provider's sign-in goes through Flask-Login like a password's (billing counts it)."""
    configure_sso(fresh_idp, tenant_a)
    before = time.time()
    sso_sign_in(client, fresh_idp, tenant_a.slug, "counted@sso.example")
    user = db.session.scalar(select(User).where(User.email == "counted@sso.example"))
    assert user.last_login_at.timestamp() >= before - 1


def test_provider_refusing_the_sign_in_is_reported_not_an_error(client, tenant_a, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    fresh_idp.user_email = None  # the provider answers access_denied
    response = client.get(provider_answer(leave_for_provider(client, tenant_a.slug)))
    assert response.status_code == 403 and "did not sign you in" in response.text
    assert fresh_idp.token_requests == [] and _refusal_reasons(tenant_a.tenant.id) == ["provider_error"]


def test_dedicated_encryption_key_rotates_without_losing_stored_secrets(app_ctx, monkeypatch):
    from saas.auth.crypto import SecretUnreadable, encrypt_secret

    monkeypatch.setenv("SSO_ENCRYPTION_KEY", "first-key-material")
    stored = encrypt_secret("the-client-secret")
    monkeypatch.setenv("SSO_ENCRYPTION_KEY", "second-key-material")
    with pytest.raises(SecretUnreadable):
        decrypt_secret(stored)
    monkeypatch.setenv("SSO_ENCRYPTION_KEY_OLD", "first-key-material")
    assert decrypt_secret(stored) == "the-client-secret"
    assert decrypt_secret(encrypt_secret("new")) == "new"
