"""Server-side sessions: a cookie stops opening pages once its session is ended, however it ends."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.models import User, UserSession
from saas.auth.services import find_user_by_email, set_user_active
from saas.db import db
from tests.auth.conftest import Browser, new_browser
from tests.conftest import TenantFixture, csrf_token_from, login

NEW_PASSWORD = "another-long-passphrase"


def signed_in(app: Flask, email: str, password: str) -> Browser:
    """A browser signed in with a password (for an account without two-factor)."""
    browser = new_browser(app)
    assert login(browser, email, password).status_code == 302
    return browser


def two_browsers(app: Flask, tenant: TenantFixture) -> tuple[Browser, Browser]:
    """The owner signed in on a laptop and on a phone."""
    return signed_in(app, tenant.email, tenant.password), signed_in(app, tenant.email, tenant.password)


def opens_workspace(browser: Browser, tenant: TenantFixture) -> bool:
    response = browser.get(f"/t/{tenant.slug}/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def replay(app: Flask, cookie: str) -> Browser:
    """A second browser holding a copy of a captured session cookie."""
    thief = new_browser(app)
    thief.set_cookie("session", cookie)
    return thief


def post_form(browser: Browser, page: str, action: str, **data: str):
    token = csrf_token_from(browser.get(page).text)
    return browser.post(action, data={"csrf_token": token, **data})


def user_of(email: str) -> User:
    db.session.expire_all()  # as the requests of the test's browsers left it
    return find_user_by_email(db.session, email)


def audit_of(target: object) -> list[tuple[str, dict]]:
    """(action, details) of the audit entries about ``target``, oldest first."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.target == str(target)).order_by(AuditEntry.id)
    )
    return [(e.action, e.details) for e in entries]


def test_a_cookie_captured_before_sign_out_is_refused_after_it(app, tenant_a):
    browser = signed_in(app, tenant_a.email, tenant_a.password)
    captured = browser.get_cookie("session").value
    assert opens_workspace(replay(app, captured), tenant_a)
    post_form(browser, f"/t/{tenant_a.slug}/", "/logout")
    thief = replay(app, captured)
    assert not opens_workspace(thief, tenant_a)
    assert thief.get("/account/security").status_code == 302
    assert thief.get("/workspaces").status_code == 302


def test_sign_out_everywhere_ends_other_browsers_and_keeps_this_one(app, tenant_a):
    laptop, phone = two_browsers(app, tenant_a)
    captured = laptop.get_cookie("session").value
    done = post_form(laptop, "/account/security", "/account/sessions/revoke-others")
    assert done.status_code == 302
    assert "Signed out everywhere else (1 other session ended)." in laptop.get("/account/security").text
    assert opens_workspace(laptop, tenant_a) and opens_workspace(replay(app, captured), tenant_a)
    assert not opens_workspace(phone, tenant_a)
    revoked = ("sessions.revoked_all", {"reason": "signed_out_everywhere", "count": 1})
    assert revoked in audit_of(user_of(tenant_a.email).id)


def test_a_deactivated_users_sessions_are_refused(app, tenant_a):
    browser = signed_in(app, tenant_a.email, tenant_a.password)
    captured = browser.get_cookie("session").value
    set_user_active(db.session, user_of(tenant_a.email), False, actor="test")
    db.session.commit()
    assert not opens_workspace(browser, tenant_a) and not opens_workspace(replay(app, captured), tenant_a)
    assert login(new_browser(app), tenant_a.email, tenant_a.password).status_code == 200
    assert not db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user_of(tenant_a.email).id, UserSession.revoked_at.is_(None)
        )
    ).all()


def test_a_password_change_ends_every_other_session(app, tenant_a):
    laptop, phone = two_browsers(app, tenant_a)
    captured_phone = phone.get_cookie("session").value
    changed = post_form(
        laptop,
        "/account/security",
        "/account/password",
        current_password=tenant_a.password,
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert changed.status_code == 302, changed.text
    assert opens_workspace(laptop, tenant_a)
    assert not opens_workspace(phone, tenant_a) and not opens_workspace(replay(app, captured_phone), tenant_a)
    assert login(new_browser(app), tenant_a.email, tenant_a.password).status_code == 200
    assert signed_in(app, tenant_a.email, NEW_PASSWORD)
    actions = [action for action, _ in audit_of(user_of(tenant_a.email).id)]
    assert actions[-2:] == ["sessions.revoked_all", "user.password_changed"]


def test_a_wrong_current_password_changes_nothing_and_says_so(app, tenant_a):
    laptop, phone = two_browsers(app, tenant_a)
    refused = post_form(
        laptop,
        "/account/security",
        "/account/password",
        current_password="not-my-password-at-all",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert refused.status_code == 422 and "This is not your password." in refused.text
    assert opens_workspace(phone, tenant_a)
    assert signed_in(app, tenant_a.email, tenant_a.password)


FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def test_the_user_sees_their_sessions_and_revokes_one(app, tenant_a, tenant_b):
    laptop = signed_in(app, tenant_a.email, tenant_a.password)
    phone = new_browser(app)
    phone.environ_base["HTTP_USER_AGENT"] = FIREFOX_ON_WINDOWS
    assert login(phone, tenant_a.email, tenant_a.password).status_code == 302
    stranger = signed_in(app, tenant_b.email, tenant_b.password)
    page = laptop.get("/account/security")
    assert "Firefox on Windows" in page.text
    owner = user_of(tenant_a.email)
    mine = db.session.scalars(select(UserSession).where(UserSession.user_id == owner.id)).all()
    assert len(mine) == 2 and all(f'data-session="{s.id}"' in page.text for s in mine)
    assert page.text.count("this browser") == 1
    phone_session = next(s for s in mine if s.id != _current(laptop))
    # Another user's id is not theirs to end: nothing happens to it.
    post_form(stranger, "/account/security", f"/account/sessions/{phone_session.id}/revoke")
    assert "That session had ended already." in stranger.get("/account/security").text
    assert opens_workspace(phone, tenant_a)
    post_form(laptop, "/account/security", f"/account/sessions/{phone_session.id}/revoke")
    assert not opens_workspace(phone, tenant_a) and opens_workspace(laptop, tenant_a)
    assert ("sessions.revoked", {}) in [(a, d) for a, d in audit_of(phone_session.id)]


def _current(browser: Browser):
    """The id of the session record behind a browser's cookie."""
    from saas.auth.sessions import _hash_token

    with browser.session_transaction() as session:
        token = session["_sid"]
    db.session.expire_all()
    return db.session.scalar(select(UserSession.id).where(UserSession.token_hash == _hash_token(token)))


def test_the_cookie_holds_a_token_the_database_keeps_only_hashed(app, tenant_a):
    browser = signed_in(app, tenant_a.email, tenant_a.password)
    with browser.session_transaction() as session:
        token = session["_sid"]
    stored = db.session.scalars(select(UserSession.token_hash)).all()
    assert len(token) >= 40 and token not in stored and _current(browser) is not None


def test_ending_sessions_needs_the_forms_csrf_token(app, tenant_a):
    laptop, phone = two_browsers(app, tenant_a)
    assert laptop.post("/account/sessions/revoke-others").status_code == 400
    assert opens_workspace(phone, tenant_a)
    assert laptop.post("/logout").status_code == 400 and opens_workspace(laptop, tenant_a)


def test_account_pages_need_a_signed_in_user(client):
    response = client.get("/account/security")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_member_deactivated_by_the_workspace_is_refused_its_pages_at_once(app, tenant_a):
    from saas.auth.models import Membership
    from saas.auth.services import add_member

    add_member(db.session, tenant_a.tenant.id, "leaver@example.com", "leaver-password-1", "member", actor="t")
    db.session.commit()
    leaver = new_browser(app)
    assert login(leaver, "leaver@example.com", "leaver-password-1").status_code == 302
    assert leaver.get(f"/t/{tenant_a.slug}/").status_code == 200
    owner = signed_in(app, tenant_a.email, tenant_a.password)
    membership_id = db.session.scalar(
        select(Membership.id).join(User).where(User.email == "leaver@example.com")
    )
    page = f"/t/{tenant_a.slug}/settings/members"
    assert post_form(owner, page, f"{page}/{membership_id}/deactivate").status_code == 302
    # The workspace checks the membership on every request; the person's other workspaces stay open.
    assert leaver.get(f"/t/{tenant_a.slug}/").status_code == 404


def test_every_signed_in_page_links_to_the_account_security_page(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    for path in (f"/t/{tenant_a.slug}/", "/workspaces"):
        page = client.get(path)
        assert page.status_code == 200 and 'href="/account/security"' in page.text, path
