"""Two-factor sign-in: enrollment with a QR code, the code step after the password, recovery codes,
replay and guessing limits, switching it off, and a workspace that requires it."""

from __future__ import annotations

import re

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.crypto import decrypt_secret
from saas.auth.models import RecoveryCode, TwoFactor, User
from saas.auth.services import add_member
from saas.auth.two_factor import has_two_factor
from saas.db import db
from saas.extensions import limiter
from tests.auth.conftest import Browser, configure_sso, fresh_idp, idp, new_browser, sso_sign_in  # noqa: F401
from tests.conftest import TenantFixture, csrf_token_from, login
from tests.security.test_revocable_sessions import audit_of, signed_in, user_of

WRONG = "This code is not right (or was used already)."


@pytest.fixture(autouse=True)
def fresh_limits():
    yield
    limiter.reset()


def enroll(browser: Browser, next_path: str = "") -> tuple[str, list[str]]:
    """Set up two-factor from the account page; returns the secret and the recovery codes shown."""
    page = browser.get(f"/account/two-factor/enable{next_path}")
    assert page.status_code == 200 and "<svg" in page.text, page.status_code
    secret = re.search(r'data-testid="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    shown = browser.post(
        f"/account/two-factor/enable{next_path}",
        data={"csrf_token": csrf_token_from(page.text), "code": pyotp.TOTP(secret).now()},
    )
    assert shown.status_code == 200, shown.text
    assert shown.mimetype == page.mimetype == "text/html"
    assert shown.headers["Cache-Control"] == page.headers["Cache-Control"] == "no-store"
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.text)


def next_code(email: str, secret: str) -> str:
    """A code of the time step after the last one accepted (that one is spent), still within the window."""
    record = db.session.get(TwoFactor, user_of(email).id)
    return pyotp.TOTP(secret).generate_otp(record.last_used_step + 1)


def password_step(app: Flask, email: str, password: str) -> Browser:
    browser = new_browser(app)
    response = login(browser, email, password)
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-factor"
    return browser


def code_step(browser: Browser, code: str, **environ: str):
    page = browser.get("/login/two-factor")
    return browser.post(
        "/login/two-factor",
        data={"csrf_token": csrf_token_from(page.text), "code": code},
        **({"environ_base": environ} if environ else {}),
    )


def opens(browser: Browser, path: str) -> bool:
    response = browser.get(path)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def actions_of(user: User) -> list[str]:
    return [action for action, _ in audit_of(user.id)]


def test_enrolling_shows_a_qr_code_and_the_key_and_needs_a_current_code(app, tenant_a):
    browser = signed_in(app, tenant_a.email, tenant_a.password)
    page = browser.get("/account/two-factor/enable")
    assert page.status_code == 200 and "<svg" in page.text
    assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None  # no inline script: a strict CSP holds
    refused = browser.post(
        "/account/two-factor/enable", data={"csrf_token": csrf_token_from(page.text), "code": "000000"}
    )
    assert refused.status_code == 422 and WRONG in refused.text
    assert not has_two_factor(db.session, user_of(tenant_a.email).id)
    secret, codes = enroll(browser)
    user = user_of(tenant_a.email)
    assert has_two_factor(db.session, user.id) and len(codes) == len(set(codes)) == 10
    record = db.session.get(TwoFactor, user.id)
    assert secret not in record.secret_encrypted and decrypt_secret(record.secret_encrypted) == secret
    hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert all(h.startswith("$argon2id$") for h in hashes) and not {c.replace("-", "") for c in codes} & set(
        hashes
    )
    assert "2fa.enabled" in actions_of(user)
    assert "10 unused recovery codes left" in browser.get("/account/security").text


@pytest.mark.parametrize("sign_in_page", ["/login", "workspace"])
def test_after_the_password_the_code_is_asked_and_nothing_opens_before(app, tenant_a, sign_in_page):
    secret, _ = enroll(signed_in(app, tenant_a.email, tenant_a.password))
    browser = new_browser(app)
    path = "/login" if sign_in_page == "/login" else f"/t/{tenant_a.slug}/login"
    page = browser.get(path)
    response = browser.post(
        path,
        data={
            "email": tenant_a.email,
            "password": tenant_a.password,
            "csrf_token": csrf_token_from(page.text),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-factor"
    for closed in (f"/t/{tenant_a.slug}/", "/account/security", "/workspaces"):
        assert not opens(browser, closed)
    wrong = code_step(browser, "123456")
    assert wrong.status_code == 400 and WRONG in wrong.text
    right = code_step(browser, next_code(tenant_a.email, secret))
    assert right.status_code == 302 and right.headers["Location"] == f"/t/{tenant_a.slug}/"
    assert opens(browser, f"/t/{tenant_a.slug}/")
    assert "2fa.code_refused" in actions_of(user_of(tenant_a.email))


def test_a_code_is_accepted_only_once(app, tenant_a):
    secret, _ = enroll(signed_in(app, tenant_a.email, tenant_a.password))
    code = next_code(tenant_a.email, secret)
    first = password_step(app, tenant_a.email, tenant_a.password)
    assert code_step(first, code).status_code == 302
    second = password_step(app, tenant_a.email, tenant_a.password)
    replayed = code_step(second, code)
    assert replayed.status_code == 400 and WRONG in replayed.text
    assert not opens(second, f"/t/{tenant_a.slug}/")


def test_a_recovery_code_signs_in_once_and_is_audited(app, tenant_a):
    _, codes = enroll(signed_in(app, tenant_a.email, tenant_a.password))
    first = password_step(app, tenant_a.email, tenant_a.password)
    assert code_step(first, codes[3].upper().replace("-", " ")).status_code == 302
    assert opens(first, f"/t/{tenant_a.slug}/")
    second = password_step(app, tenant_a.email, tenant_a.password)
    assert code_step(second, codes[3]).status_code == 400
    user = user_of(tenant_a.email)
    assert actions_of(user).count("2fa.recovery_code_used") == 1
    assert "9 unused recovery codes left" in first.get("/account/security").text


def test_code_guesses_are_limited_per_account_whatever_the_address(app, tenant_a, monkeypatch):
    enroll(signed_in(app, tenant_a.email, tenant_a.password))
    monkeypatch.setitem(app.config, "TWO_FACTOR_RATE_LIMIT", "3 per minute")
    browser = password_step(app, tenant_a.email, tenant_a.password)
    statuses = [code_step(browser, "000000", REMOTE_ADDR=f"10.0.0.{n}").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_a_half_done_sign_in_ends_when_the_password_changes(app, tenant_a):
    from saas.auth.services import set_new_password

    enroll(signed_in(app, tenant_a.email, tenant_a.password))
    browser = password_step(app, tenant_a.email, tenant_a.password)
    set_new_password(db.session, user_of(tenant_a.email), "a-new-and-long-passphrase", reason="test")
    db.session.commit()
    response = browser.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not opens(browser, f"/t/{tenant_a.slug}/")


def test_switching_off_needs_a_current_code_or_the_password(app, tenant_a):
    browser = signed_in(app, tenant_a.email, tenant_a.password)
    enroll(browser)
    token = csrf_token_from(browser.get("/account/security").text)
    refused = browser.post(
        "/account/two-factor/disable", data={"csrf_token": token, "proof": "guess-1234567"}
    )
    assert (
        refused.status_code == 422 and "Enter a current code from your app, or your password." in refused.text
    )
    assert has_two_factor(db.session, user_of(tenant_a.email).id)
    done = browser.post("/account/two-factor/disable", data={"csrf_token": token, "proof": tenant_a.password})
    assert done.status_code == 302
    user = user_of(tenant_a.email)
    assert not has_two_factor(db.session, user.id) and "2fa.disabled" in actions_of(user)
    assert not db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert signed_in(app, tenant_a.email, tenant_a.password)


def require_two_factor(browser: Browser, tenant: TenantFixture, on: bool = True):
    page = browser.get(f"/t/{tenant.slug}/settings/sso")
    data = {"csrf_token": csrf_token_from(page.text), **({"require_two_factor": "y"} if on else {})}
    return browser.post(f"/t/{tenant.slug}/settings/security", data=data)


def test_a_workspace_that_requires_it_sends_password_members_to_enroll_first(app, tenant_a, tenant_b):
    owner = signed_in(app, tenant_a.email, tenant_a.password)
    assert require_two_factor(owner, tenant_a).status_code == 302
    entries = db.session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_a.tenant.id))
    assert "security.two_factor_required" in entries.all()
    add_member(db.session, tenant_a.tenant.id, "member@2fa.example", "member-password-1", "member", actor="t")
    add_member(db.session, tenant_b.tenant.id, "member@2fa.example", "member-password-1", "member", actor="t")
    db.session.commit()
    member = signed_in(app, "member@2fa.example", "member-password-1")
    sent = member.get(f"/t/{tenant_a.slug}/contacts")
    assert sent.status_code == 302
    assert sent.headers["Location"].startswith("/account/two-factor/enable?next=")
    assert opens(member, f"/t/{tenant_b.slug}/")  # a workspace that does not require it opens as before
    _, codes = enroll(member, f"?next=/t/{tenant_a.slug}/contacts")
    assert len(codes) == 10
    assert opens(member, f"/t/{tenant_a.slug}/contacts")


def test_only_owners_and_admins_change_the_requirement(app, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "plain@2fa.example", "member-password-1", "member", actor="t")
    db.session.commit()
    member = signed_in(app, "plain@2fa.example", "member-password-1")
    refused = member.post(
        f"/t/{tenant_a.slug}/settings/security",
        data={"csrf_token": csrf_token_from(member.get("/account/security").text), "require_two_factor": "y"},
    )
    assert refused.status_code == 403


def test_single_sign_on_sessions_are_not_sent_to_enroll(app, tenant_a, fresh_idp):  # noqa: F811
    configure_sso(fresh_idp, tenant_a)
    owner = signed_in(app, tenant_a.email, tenant_a.password)
    assert require_two_factor(owner, tenant_a).status_code == 302
    browser = new_browser(app)
    response = sso_sign_in(browser, fresh_idp, tenant_a.slug, f"2fa-{tenant_a.slug}@sso.example")
    assert response.status_code == 302
    assert opens(browser, f"/t/{tenant_a.slug}/")
