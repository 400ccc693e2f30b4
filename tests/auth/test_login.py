"""Sign-in, sign-out, rate limiting, safe redirects and API tokens."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from saas.auth.models import ApiToken
from saas.auth.services import add_member, find_user_by_email
from saas.db import db
from tests.conftest import PASSWORD, bearer, csrf_token_from, login


def test_owner_signs_in_lands_in_workspace_and_signs_out(client, tenant_a):
    response = login(client, tenant_a.email, tenant_a.password)
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{tenant_a.slug}/"
    dashboard = client.get(f"/t/{tenant_a.slug}/")
    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text
    out = client.post("/logout", data={"csrf_token": csrf_token_from(dashboard.text)})
    assert out.status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302


def _deactivate(email: str) -> None:
    find_user_by_email(db.session, email).is_active_flag = False
    db.session.commit()


def _workspace_login(client, slug: str, email: str, password: str):
    page = client.get(f"/t/{slug}/login")
    data = {"csrf_token": csrf_token_from(page.text), "email": email, "password": password}
    return client.post(f"/t/{slug}/login", data=data)


@pytest.mark.parametrize("door", ["site", "workspace"])
def test_every_failed_sign_in_re_renders_the_form_with_200_and_the_same_message(client, tenant_a, door):
    add_member(db.session, tenant_a.tenant.id, f"gone-{door}@example.com", PASSWORD, "member", actor="test")
    _deactivate(f"gone-{door}@example.com")

    def attempt(email: str, password: str):
        if door == "site":
            return login(client, email, password)
        return _workspace_login(client, tenant_a.slug, email, password)

    answers = {
        "wrong password": attempt(tenant_a.email, "wrong-password-123"),
        "unknown email": attempt("nobody@example.com", "wrong-password-123"),
        "deactivated": attempt(f"gone-{door}@example.com", PASSWORD),
    }
    for reason, answer in answers.items():
        assert answer.status_code == 200, reason
        assert "Email or password is not right." in answer.text, reason
        assert 'name="password"' in answer.text, reason


def test_passwords_are_stored_as_argon2id(tenant_a):
    from saas.auth.services import find_user_by_email

    user = find_user_by_email(db.session, tenant_a.email)
    assert user.password_hash.startswith("$argon2id$") and tenant_a.password not in user.password_hash


def test_login_is_rate_limited(app, client, tenant_a):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [login(client, tenant_a.email, "wrong-password-123").status_code for _ in range(5)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
        from saas.extensions import limiter

        limiter.reset()
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429


def test_login_never_redirects_off_site(client, tenant_a):
    page = client.get("/login")
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            f"/login?next={target}",
            data={
                "email": tenant_a.email,
                "password": tenant_a.password,
                "csrf_token": csrf_token_from(page.text),
            },
        )
        assert response.headers["Location"] == f"/t/{tenant_a.slug}/"
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get(f"/t/{tenant_a.slug}/").text)})


def test_session_cookie_is_http_only_and_same_site(client, tenant_a):
    response = login(client, tenant_a.email, tenant_a.password)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cli_token_is_printed_once_stored_as_hash_and_works(app, client, tenant_a):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--tenant", tenant_a.slug, "--email", tenant_a.email, "--name", "ERP"]
    )
    assert result.exit_code == 0, result.output
    secret = json.loads(result.stdout.strip().splitlines()[-1])["token"]
    stored = db.session.scalar(
        select(ApiToken).where(ApiToken.name == "ERP", ApiToken.tenant_id == tenant_a.tenant.id)
    )
    assert stored.token_hash != secret and secret not in stored.token_hash
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200


def test_cli_refuses_a_token_for_a_non_member(app, tenant_a, tenant_b):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--tenant", tenant_a.slug, "--email", tenant_b.email, "--name", "X"]
    )
    assert result.exit_code == 2
