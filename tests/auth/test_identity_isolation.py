"""Tenant B's admin can neither see nor change tenant A's SSO settings, members, invitations or audit log."""

from __future__ import annotations

from sqlalchemy import select

from saas.audit import record_audit
from saas.auth.models import Invitation, Membership, SsoConfig
from saas.auth.services import add_member, find_user_by_email
from saas.db import db
from tests.auth.conftest import configure_sso, leave_for_provider, provider_answer, sso_sign_in
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


def _member_of_a(tenant_a) -> Membership:
    membership = add_member(
        db.session, tenant_a.tenant.id, "worker-a@example.com", PASSWORD, "member", actor="t"
    )
    db.session.commit()
    return membership


def _post_as_b(client, tenant_b, path: str, **data):
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/settings/members").text)
    return client.post(f"/t/{tenant_b.slug}/settings/{path}", data={"csrf_token": token, **data})


def test_tenant_b_admin_cannot_open_tenant_a_identity_pages(client, tenant_a, tenant_b, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    login(client, tenant_b.email, tenant_b.password)
    for page in ("settings/sso", "settings/members", "settings/audit"):
        assert client.get(f"/t/{tenant_a.slug}/{page}").status_code == 404
        assert client.get(f"/t/{tenant_b.slug}/{page}").status_code == 200
    own = client.get(f"/t/{tenant_b.slug}/settings/sso").text
    assert fresh_idp.issuer not in own and f"crm-{tenant_a.slug}" not in own


def test_tenant_b_admin_cannot_save_sso_settings_into_tenant_a(client, tenant_a, tenant_b, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/settings/sso").text)
    form = {
        "csrf_token": token,
        "issuer": fresh_idp.issuer,
        "client_id": "hijack",
        "client_secret": "hijack-secret",
        "default_role": "admin",
        "enabled": "y",
    }
    assert client.post(f"/t/{tenant_a.slug}/settings/sso", data=form).status_code == 404
    db.session.rollback()
    assert db.session.get(SsoConfig, tenant_a.tenant.id).client_id == f"crm-{tenant_a.slug}"


def test_tenant_b_admin_cannot_change_tenant_a_members_by_id(client, tenant_a, tenant_b):
    target = _member_of_a(tenant_a)
    login(client, tenant_b.email, tenant_b.password)
    for path, data in (
        (f"members/{target.id}/role", {"role": "owner"}),
        (f"members/{target.id}/deactivate", {}),
        (f"members/{target.id}/remove", {}),
    ):
        assert _post_as_b(client, tenant_b, path, **data).status_code == 404
    db.session.rollback()
    still = db.session.get(Membership, target.id)
    assert still is not None and still.role == "member" and still.is_active
    assert "worker-a@example.com" not in client.get(f"/t/{tenant_b.slug}/settings/members").text


def test_tenant_b_admin_cannot_see_or_withdraw_tenant_a_invitations(client, tenant_a, tenant_b, mail_sink):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/members")
    client.post(
        f"/t/{tenant_a.slug}/settings/members/invite",
        data={"csrf_token": csrf_token_from(page.text), "email": "invitee-a@example.com", "role": "member"},
    )
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "invitee-a@example.com"))
    client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})

    login(client, tenant_b.email, tenant_b.password)
    assert "invitee-a@example.com" not in client.get(f"/t/{tenant_b.slug}/settings/members").text
    assert _post_as_b(client, tenant_b, f"invitations/{invitation.id}/revoke").status_code == 404
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).revoked_at is None


def test_tenant_a_invitation_does_not_open_tenant_b_through_b_provider(client, tenant_a, tenant_b, fresh_idp):
    guest = f"guest-{tenant_b.slug}@partner.example"
    configure_sso(fresh_idp, tenant_b, domains="")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/members")
    client.post(
        f"/t/{tenant_a.slug}/settings/members/invite",
        data={"csrf_token": csrf_token_from(page.text), "email": guest, "role": "admin"},
    )
    client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})
    from saas.auth.members import invitation_token

    invitation = db.session.scalar(select(Invitation).where(Invitation.email == guest))
    token = invitation_token(invitation)
    response = sso_sign_in(client, fresh_idp, tenant_b.slug, guest, token)
    assert response.status_code == 403
    db.session.rollback()
    user = find_user_by_email(db.session, guest)
    assert user is None and db.session.get(Invitation, invitation.id).accepted_at is None


def test_sign_in_started_at_tenant_a_cannot_finish_at_tenant_b(client, tenant_a, tenant_b, fresh_idp):
    configure_sso(fresh_idp, tenant_a)
    configure_sso(fresh_idp, tenant_b)
    # An address no other test signs in with, so "no account was made" holds in any test order.
    fresh_idp.user_email = f"cross-{tenant_a.slug}@sso.example"
    callback = provider_answer(leave_for_provider(client, tenant_a.slug))
    response = client.get(callback.replace(f"/t/{tenant_a.slug}/", f"/t/{tenant_b.slug}/"))
    assert response.status_code == 403 and find_user_by_email(db.session, fresh_idp.user_email) is None


def test_tenant_b_audit_log_page_and_api_hold_nothing_of_tenant_a(client, tenant_a, tenant_b):
    record_audit(db.session, "secret.of_a", actor="test", tenant_id=tenant_a.tenant.id)
    record_audit(db.session, "secret.of_b", actor="test", tenant_id=tenant_b.tenant.id)
    db.session.commit()
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/settings/audit").text
    assert "secret.of_b" in page and "secret.of_a" not in page
    owner_a = find_user_by_email(db.session, tenant_a.email)
    by_a = client.get(f"/t/{tenant_b.slug}/settings/audit?actor={tenant_a.email}").text
    assert "No entries." in by_a and str(owner_a.id) not in by_a
    body = client.get("/api/v1/audit?limit=200", headers=bearer(make_token(tenant_b))).get_json()
    actions = {entry["action"] for entry in body["data"]}
    assert "secret.of_b" in actions and "secret.of_a" not in actions
