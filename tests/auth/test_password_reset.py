"""Forgotten passwords: the mailed, signed, 30-minute, single-use reset link, and what a reset ends."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.models import User
from saas.auth.password_reset import RESET_SECONDS, _serializer, make_reset_token
from saas.auth.services import add_member, find_user_by_email
from saas.auth.sessions import password_fingerprint
from saas.db import db
from saas.extensions import limiter
from saas.jobs import make_worker
from saas.modules.privacy.links import make_link_token
from tests.auth.conftest import configure_sso, new_browser
from tests.conftest import csrf_token_from, login

NEW_PASSWORD = "a-brand-new-passphrase"
REFUSED = "This password reset link is not valid any more"


@pytest.fixture(autouse=True)
def generous_limits(app, monkeypatch):
    """Every test here asks from 127.0.0.1: the limit tests set their own, tight ones."""
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", "1000 per minute")
    monkeypatch.setitem(app.config, "PASSWORD_RESET_EMAIL_RATE_LIMIT", "1000 per minute")
    yield
    limiter.reset()


def ask_for_reset(client, email: str, **kwargs):
    page = client.get("/password/forgot")
    assert page.status_code == 200
    return client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf_token_from(page.text)}, **kwargs
    )


def run_jobs() -> None:
    make_worker().work(burst=True)


def mailed_reset_path(sink, email: str) -> str:
    run_jobs()
    messages = [m for m in sink.to(email) if m["Subject"] == "Reset your CRM password"]
    assert len(messages) == 1, [m["Subject"] for m in sink.to(email)]
    match = re.search(r"http://localhost(/password/reset/\S+)", messages[0].get_content())
    assert match, "the mail holds no reset link"
    return match.group(1)


def choose_password(client, path: str, password: str, confirm: str | None = None, **kwargs):
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.text
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return client.post(path, data={**data, "csrf_token": csrf_token_from(page.text)}, **kwargs)


def user_of(email: str) -> User:
    db.session.expire_all()
    return find_user_by_email(db.session, email)


def test_both_sign_in_pages_offer_a_forgotten_password_link(client, tenant_a):
    for path in ("/login", f"/t/{tenant_a.slug}/login"):
        assert 'href="/password/forgot">Forgot your password?' in client.get(path).text


def test_full_journey_mails_a_link_that_sets_a_new_password_and_tells_the_owner(
    client, app, tenant_a, mail_sink
):
    answer = ask_for_reset(client, tenant_a.email)
    assert answer.status_code == 200 and "Check your mail" in answer.text
    path = mailed_reset_path(mail_sink, tenant_a.email)

    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert page.headers["Referrer-Policy"] == "same-origin"
    done = choose_password(client, path, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "Your password was changed" in client.get("/login").text

    assert login(new_browser(app), tenant_a.email, tenant_a.password).status_code == 200
    signed_in = login(new_browser(app), tenant_a.email, NEW_PASSWORD)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == f"/t/{tenant_a.slug}/"
    assert user_of(tenant_a.email).password_hash.startswith("$argon2id$")

    run_jobs()
    [notice] = [m for m in mail_sink.to(tenant_a.email) if m["Subject"] == "Your CRM password was changed"]
    assert "If this was not you" in notice.get_content() and "/password/reset/" not in notice.get_content()


def test_unknown_email_gets_the_same_page_and_no_mail(client, tenant_a, mail_sink):
    known = ask_for_reset(client, tenant_a.email)
    unknown_address = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    unknown = ask_for_reset(client, unknown_address)
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    run_jobs()
    assert mail_sink.to(unknown_address) == [] and len(mail_sink.to(tenant_a.email)) == 1


def test_a_malformed_address_gets_a_form_message(client, app_ctx, mail_sink):
    answer = ask_for_reset(client, "not-an-address")
    assert answer.status_code == 400 and 'class="error" id="email-error"' in answer.text
    run_jobs()
    assert mail_sink.messages == []


def test_the_link_works_once(client, app, tenant_a, mail_sink):
    ask_for_reset(client, tenant_a.email)
    path = mailed_reset_path(mail_sink, tenant_a.email)
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302
    for browser in (client, new_browser(app)):
        again = browser.get(path)
        assert again.status_code == 400 and REFUSED in again.text and "Ask for a new one" in again.text


def test_every_older_link_dies_with_the_password_it_was_made_for(client, tenant_a, mail_sink):
    first = make_reset_token(user_of(tenant_a.email))
    ask_for_reset(client, tenant_a.email)
    path = mailed_reset_path(mail_sink, tenant_a.email)
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302
    refused = client.get(f"/password/reset/{first}")
    assert refused.status_code == 400 and REFUSED in refused.text


def test_an_expired_link_is_refused(client, tenant_a):
    class HalfAnHourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - RESET_SECONDS - 5

    token = make_reset_token(user_of(tenant_a.email), signer=HalfAnHourAgo)
    refused = client.get(f"/password/reset/{token}")
    assert refused.status_code == 400 and REFUSED in refused.text
    posted = client.post(f"/password/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert posted.status_code == 400
    assert login(client, tenant_a.email, tenant_a.password).status_code == 302


def test_tampered_and_foreign_tokens_are_refused(client, tenant_a, tenant_b):
    owner_a, owner_b = user_of(tenant_a.email), user_of(tenant_b.email)
    token = make_reset_token(owner_a)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    # Genuinely signed, but naming another account than the password it was made for.
    other_user = _serializer().dumps({"u": str(owner_b.id), "p": password_fingerprint(owner_a, "reset-link")})
    privacy_link = make_link_token(tenant_a.tenant.id, uuid.uuid4())  # another door's signed link
    for bad in (tampered, other_user, privacy_link, "not-a-token"):
        refused = client.get(f"/password/reset/{bad}")
        assert refused.status_code == 400 and REFUSED in refused.text, bad
    assert login(new_browser(client.application), tenant_b.email, tenant_b.password).status_code == 302


def test_a_weak_or_mistyped_password_gets_a_form_message_and_changes_nothing(client, tenant_a):
    path = f"/password/reset/{make_reset_token(user_of(tenant_a.email))}"
    short = choose_password(client, path, "short")
    assert short.status_code == 422 and "Use at least 10 characters." in short.text
    differ = choose_password(client, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert differ.status_code == 400 and "The passwords differ." in differ.text
    no_csrf = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert no_csrf.status_code == 400
    assert login(client, tenant_a.email, tenant_a.password).status_code == 302


def test_a_reset_signs_out_every_other_browser(client, app, tenant_a):
    elsewhere = new_browser(app)
    assert login(elsewhere, tenant_a.email, tenant_a.password).status_code == 302
    assert elsewhere.get(f"/t/{tenant_a.slug}/").status_code == 200
    path = f"/password/reset/{make_reset_token(user_of(tenant_a.email))}"
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302
    signed_out = elsewhere.get(f"/t/{tenant_a.slug}/")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]


def test_a_session_without_its_server_side_record_is_not_believed(client, tenant_a):
    assert login(client, tenant_a.email, tenant_a.password).status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    with client.session_transaction() as session:
        session.pop("_sid")
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302


def test_resets_are_audited_by_user_id_only(client, tenant_a, mail_sink):
    user_id = str(user_of(tenant_a.email).id)
    ask_for_reset(client, tenant_a.email)
    path = mailed_reset_path(mail_sink, tenant_a.email)
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.target == user_id).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.actor, e.tenant_id) for e in entries] == [
        ("password_reset.requested", user_id, None),
        ("sessions.revoked_all", user_id, None),
        ("user.password_reset", user_id, None),
    ]
    assert entries[0].details == {"outcome": "link_sent"} and entries[2].details == {}
    assert entries[1].details == {"reason": "password_reset", "count": 0}
    assert entries[2].ip == "127.0.0.1"
    assert not any(tenant_a.email in repr(e.details) for e in entries)


def test_asking_is_rate_limited_per_address(app, client, tenant_a, mail_sink, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_EMAIL_RATE_LIMIT", "2 per hour")
    codes = [ask_for_reset(client, tenant_a.email).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert ask_for_reset(client, f"other-{uuid.uuid4().hex[:8]}@example.com").status_code == 200
    run_jobs()
    assert len(mail_sink.to(tenant_a.email)) == 2


def test_asking_is_rate_limited_per_client_address(app, app_ctx, client, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", "2 per minute")
    here = {"REMOTE_ADDR": "203.0.113.7"}
    codes = [
        ask_for_reset(client, f"p{n}-{uuid.uuid4().hex[:6]}@example.com", environ_base=here).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]
    elsewhere = ask_for_reset(client, "someone@example.com", environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert elsewhere.status_code == 200


def test_a_user_whose_every_workspace_requires_sso_gets_no_reset(client, tenant_a, idp, mail_sink):
    configure_sso(idp, tenant_a, required=True)
    ask_for_reset(client, tenant_a.email)
    run_jobs()
    [message] = mail_sink.to(tenant_a.email)
    assert message["Subject"] == "How to sign in to the CRM"
    assert "/password/reset/" not in message.get_content()
    assert f"http://localhost/t/{tenant_a.slug}/login" in message.get_content()
    # A link made before single sign-on became required sets no password either.
    before = user_of(tenant_a.email).password_hash
    token = make_reset_token(user_of(tenant_a.email))
    assert client.get(f"/password/reset/{token}").status_code == 403
    csrf = csrf_token_from(client.get("/password/forgot").text)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf}
    refused = client.post(f"/password/reset/{token}", data=data)
    assert refused.status_code == 403 and "single sign-on only" in refused.text
    assert user_of(tenant_a.email).password_hash == before
    assert "single sign-on only" in login(client, tenant_a.email, tenant_a.password).text  # still SSO only


def test_a_reset_password_still_opens_no_sso_required_workspace(client, app, tenant_a, tenant_b, idp):
    add_member(db.session, tenant_b.tenant.id, tenant_a.email, "", "member", actor="test")
    db.session.commit()
    configure_sso(idp, tenant_b, required=True)
    path = f"/password/reset/{make_reset_token(user_of(tenant_a.email))}"
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302

    browser = new_browser(app)
    assert login(browser, tenant_a.email, NEW_PASSWORD).status_code == 302
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 200
    turned_away = browser.get(f"/t/{tenant_b.slug}/")
    assert turned_away.status_code == 302 and turned_away.headers["Location"] == f"/t/{tenant_b.slug}/login"
    page = browser.get(f"/t/{tenant_b.slug}/login")
    refused = browser.post(
        f"/t/{tenant_b.slug}/login",
        data={"email": tenant_a.email, "password": NEW_PASSWORD, "csrf_token": csrf_token_from(page.text)},
    )
    assert refused.status_code == 403 and "single sign-on only" in refused.text


def test_a_deactivated_account_gets_no_mail_and_its_links_are_refused(client, tenant_a, mail_sink):
    user = user_of(tenant_a.email)
    token = make_reset_token(user)
    user.is_active_flag = False
    db.session.commit()
    try:
        assert ask_for_reset(client, tenant_a.email).status_code == 200
        run_jobs()
        assert mail_sink.to(tenant_a.email) == []
        refused = client.get(f"/password/reset/{token}")
        assert refused.status_code == 400 and REFUSED in refused.text
    finally:
        user_of(tenant_a.email).is_active_flag = True
        db.session.commit()
