"""Security headers on every response (finding g): a strict CSP with no inline script, frame
protection except for the embeddable marketing forms, nosniff, HSTS over HTTPS, Referrer-Policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saas.auth.password_reset import make_reset_token
from saas.auth.services import find_user_by_email
from saas.db import db
from tests.conftest import bearer, login, make_token

SAAS = Path(__file__).resolve().parents[2] / "saas"
# <script> with a body (not src=...), and on*="" handler attributes: both need 'unsafe-inline'.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"""<[^>]*\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        name: value.strip() for name, _, value in (part.strip().partition(" ") for part in policy.split(";"))
    }


@pytest.fixture
def signed_in(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    return client


def _form_path(client, tenant) -> str:
    body = {"name": "Newsletter", "fields": [], "purposes": ["email_marketing"]}
    response = client.post("/api/v1/marketing/forms", json=body, headers=bearer(make_token(tenant)))
    assert response.status_code == 201, response.json
    return response.json["public_url"].removeprefix("http://localhost")


def test_pages_send_a_strict_content_security_policy(client, signed_in, tenant_a):
    for path in ("/signup", "/pricing", f"/t/{tenant_a.slug}/", f"/hub/{tenant_a.slug}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        directives = _directives(response)
        assert directives["script-src"] == "'self'", path
        assert "unsafe" not in directives["default-src"] and directives["object-src"] == "'none'", path
        assert directives["base-uri"] == "'self'", path


def test_a_workspace_page_may_not_be_framed(signed_in, tenant_a):
    response = signed_in.get(f"/t/{tenant_a.slug}/")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert _directives(response)["frame-ancestors"] == "'none'"


def test_error_and_api_answers_carry_the_headers_too(client, tenant_a):
    for response in (client.get("/no-such-page"), client.get("/api/v1/openapi.json")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert _directives(response)["frame-ancestors"] == "'none'"


def test_the_marketing_form_page_may_be_framed_by_other_sites(client, app_ctx, tenant_a):
    path = _form_path(client, tenant_a)
    for response in (client.get(path), client.post(path, data={"first_name": ""})):
        assert "X-Frame-Options" not in response.headers
        directives = _directives(response)
        assert directives["frame-ancestors"] == "*"
        assert directives["script-src"] == "'self'"  # framed, still no inline script


def test_responses_are_not_sniffed(client):
    for path in ("/", "/static/app.css", "/static/confirm-submit.js"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "X-XSS-Protection" not in response.headers, path  # retired by browsers; the CSP serves


def test_hsts_over_https_only(client):
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_plain_http_is_not_redirected_and_the_session_cookie_follows_the_apps_setting(app, client):
    response = client.get("/login")
    assert response.status_code == 200  # no redirect to https: the load balancer does that
    assert app.config["SESSION_COOKIE_SECURE"] is False  # test mode; production turns it on


def test_referrer_policy_everywhere_and_the_reset_page_keeps_its_own(client, app_ctx, tenant_a):
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    token = make_reset_token(find_user_by_email(db.session, tenant_a.email))
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "same-origin"


def test_no_template_holds_an_inline_script_or_handler_attribute():
    offenders = []
    for template in SAAS.rglob("templates/**/*.html"):
        text = template.read_text()
        offenders += [
            f"{template.relative_to(SAAS)}: {m.group(0)[:60]}" for m in INLINE_SCRIPT.finditer(text)
        ]
        offenders += [
            f"{template.relative_to(SAAS)}: {m.group(0)[:60]}" for m in HANDLER_ATTRIBUTE.finditer(text)
        ]
    assert offenders == []


def test_destructive_forms_ask_through_the_static_script(signed_in, tenant_a):
    page = signed_in.get(f"/t/{tenant_a.slug}/settings/custom-fields")
    assert page.status_code == 200
    assert 'src="/static/confirm-submit.js"' in page.text and "onsubmit" not in page.text
