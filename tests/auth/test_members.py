"""Users and roles: invitations by mailed, signed, expiring, single-use links; roles; deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.models import Invitation, Membership
from saas.auth.services import add_member, find_user_by_email
from saas.db import db
from tests.auth.conftest import configure_sso, mailed_invitation_path, new_browser, sso_sign_in
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


def _members_page(client, slug: str):
    return client.get(f"/t/{slug}/settings/members")


def _post(client, slug: str, path: str, **data):
    token = csrf_token_from(_members_page(client, slug).text)
    return client.post(f"/t/{slug}/settings/{path}", data={"csrf_token": token, **data})


def _membership(tenant_id: str, email: str) -> Membership | None:
    db.session.rollback()
    user = find_user_by_email(db.session, email)
    if user is None:
        return None
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant_id)
    )


def _actions(tenant_id: str) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.id)
        )
    )


def _add(fixture, email: str, role: str) -> Membership:
    membership = add_member(db.session, fixture.tenant.id, email, PASSWORD, role, actor="test")
    db.session.commit()
    return membership


def test_invited_person_gets_a_mail_sets_a_password_and_joins_with_the_role_once(
    app, client, tenant_a, mail_sink
):
    login(client, tenant_a.email, tenant_a.password)
    sent = _post(client, tenant_a.slug, "members/invite", email="New.Person@Example.com", role="admin")
    assert sent.status_code == 302
    path = mailed_invitation_path(mail_sink, "new.person@example.com")
    assert "New.Person" not in path  # the link names the invitation, not the person

    invitee = new_browser(app)
    page = invitee.get(path)
    assert page.status_code == 200 and "admin" in page.text
    mismatch = invitee.post(
        path,
        data={"csrf_token": csrf_token_from(page.text), "password": PASSWORD, "confirm": PASSWORD + "x"},
    )
    assert mismatch.status_code == 400 and "The passwords differ." in mismatch.text
    short = invitee.post(
        path, data={"csrf_token": csrf_token_from(page.text), "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400 and _membership(tenant_a.tenant.id, "new.person@example.com") is None
    joined = invitee.post(
        path, data={"csrf_token": csrf_token_from(page.text), "password": PASSWORD, "confirm": PASSWORD}
    )
    assert joined.status_code == 302 and joined.headers["Location"] == f"/t/{tenant_a.slug}/"
    assert invitee.get(f"/t/{tenant_a.slug}/settings/members").status_code == 200  # an admin now
    assert _membership(tenant_a.tenant.id, "new.person@example.com").role == "admin"

    assert new_browser(app).get(path).status_code == 404  # used once
    assert _actions(tenant_a.tenant.id)[-2:] == ["member.invited", "member.invitation_accepted"]


def test_expired_withdrawn_or_tampered_invitation_links_are_refused(app, client, tenant_a, mail_sink):
    login(client, tenant_a.email, tenant_a.password)
    _post(client, tenant_a.slug, "members/invite", email="late@example.com", role="member")
    _post(client, tenant_a.slug, "members/invite", email="withdrawn@example.com", role="member")
    late = mailed_invitation_path(mail_sink, "late@example.com")
    withdrawn = mailed_invitation_path(mail_sink, "withdrawn@example.com")

    db.session.rollback()
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "late@example.com"))
    invitation.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    withdrawn_row = db.session.scalar(select(Invitation).where(Invitation.email == "withdrawn@example.com"))
    db.session.commit()
    assert _post(client, tenant_a.slug, f"invitations/{withdrawn_row.id}/revoke").status_code == 302

    stranger = new_browser(app)
    assert stranger.get(late).status_code == 404
    assert stranger.get(withdrawn).status_code == 404
    assert stranger.get(late[:-3] + "xyz").status_code == 404
    assert "member.invitation_revoked" in _actions(tenant_a.tenant.id)


def test_person_with_an_account_accepts_when_signed_in_as_themselves_only(
    app, client, tenant_a, tenant_b, mail_sink
):
    login(client, tenant_a.email, tenant_a.password)
    _post(client, tenant_a.slug, "members/invite", email=tenant_b.email, role="member")
    path = mailed_invitation_path(mail_sink, tenant_b.email)

    other = new_browser(app)
    page = other.get(path)
    assert "Sign in as" in page.text and 'type="password"' not in page.text
    token = csrf_token_from(other.get("/login").text)
    refused = other.post(path, data={"csrf_token": token, "password": "x", "confirm": "x"})
    assert refused.status_code == 403 and _membership(tenant_a.tenant.id, tenant_b.email) is None

    login(other, tenant_b.email, tenant_b.password)
    page = other.get(path)
    accepted = other.post(path, data={"csrf_token": csrf_token_from(page.text)})
    assert accepted.status_code == 302 and _membership(tenant_a.tenant.id, tenant_b.email).role == "member"


def test_invitee_of_an_sso_required_workspace_joins_through_the_provider(
    app, client, tenant_a, mail_sink, fresh_idp
):
    configure_sso(fresh_idp, tenant_a, domains="", required=True)
    login_client = new_browser(app)
    sso_sign_in(login_client, fresh_idp, tenant_a.slug, tenant_a.email)
    _post(login_client, tenant_a.slug, "members/invite", email="guest@partner.example", role="member")
    path = mailed_invitation_path(mail_sink, "guest@partner.example")
    token = path.rsplit("/", 1)[1]

    page = client.get(path)
    assert 'type="password"' not in page.text and "Accept with single sign-on" in page.text
    # Without the invitation the provider's word alone does not let an outside domain in...
    assert sso_sign_in(client, fresh_idp, tenant_a.slug, "guest@partner.example").status_code == 403
    # ...with it, the invitee joins with the invited role.
    response = sso_sign_in(client, fresh_idp, tenant_a.slug, "guest@partner.example", token)
    assert response.status_code == 302 and client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert _membership(tenant_a.tenant.id, "guest@partner.example").role == "member"


def test_admin_changes_roles_deactivates_reactivates_and_removes_with_every_step_audited(client, tenant_a):
    _add(tenant_a, "admin@example.com", "admin")
    target = _add(tenant_a, "worker@example.com", "member")
    login(client, "admin@example.com", PASSWORD)
    slug = tenant_a.slug

    assert _post(client, slug, f"members/{target.id}/role", role="admin").status_code == 302
    assert _membership(tenant_a.tenant.id, "worker@example.com").role == "admin"
    assert _post(client, slug, f"members/{target.id}/deactivate").status_code == 302
    assert not _membership(tenant_a.tenant.id, "worker@example.com").is_active
    assert _post(client, slug, f"members/{target.id}/reactivate").status_code == 302
    assert _post(client, slug, f"members/{target.id}/remove").status_code == 302
    assert _membership(tenant_a.tenant.id, "worker@example.com") is None
    assert _actions(tenant_a.tenant.id)[-4:] == [
        "member.role_changed",
        "member.deactivated",
        "member.reactivated",
        "member.removed",
    ]


def test_deactivated_member_can_no_longer_open_the_workspace_or_use_its_tokens(app, client, tenant_a):
    worker = _add(tenant_a, "worker@example.com", "member")
    from tests.conftest import TenantFixture

    secret = make_token(TenantFixture(tenant_a.tenant, tenant_a.slug, "worker@example.com", PASSWORD))
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    worker_client = new_browser(app)
    login(worker_client, "worker@example.com", PASSWORD)
    assert worker_client.get(f"/t/{tenant_a.slug}/").status_code == 200

    login(client, tenant_a.email, tenant_a.password)
    assert _post(client, tenant_a.slug, f"members/{worker.id}/deactivate").status_code == 302
    assert worker_client.get(f"/t/{tenant_a.slug}/").status_code == 404
    assert new_browser(app).get("/api/v1/contacts", headers=bearer(secret)).status_code == 401


def test_the_last_owner_cannot_be_demoted_deactivated_or_removed(client, tenant_a):
    owner = _membership(tenant_a.tenant.id, tenant_a.email)
    login(client, tenant_a.email, tenant_a.password)
    slug = tenant_a.slug
    for path, data in (
        (f"members/{owner.id}/role", {"role": "admin"}),
        (f"members/{owner.id}/deactivate", {}),
        (f"members/{owner.id}/remove", {}),
    ):
        response = _post(client, slug, path, **data)
        assert response.status_code == 409 and "at least one owner" in response.text
    assert _membership(tenant_a.tenant.id, tenant_a.email).role == "owner"

    # With a second owner, the first may step down.
    second = _add(tenant_a, "second@example.com", "owner")
    assert _post(client, slug, f"members/{owner.id}/role", role="admin").status_code == 302
    assert _membership(tenant_a.tenant.id, second.user.email).role == "owner"


def test_only_owners_make_or_unmake_owners(client, tenant_a, mail_sink):
    _add(tenant_a, "admin@example.com", "admin")
    member = _add(tenant_a, "worker@example.com", "member")
    owner = _membership(tenant_a.tenant.id, tenant_a.email)
    login(client, "admin@example.com", PASSWORD)
    slug = tenant_a.slug
    assert _post(client, slug, f"members/{member.id}/role", role="owner").status_code == 403
    assert _post(client, slug, f"members/{owner.id}/deactivate").status_code == 403
    assert _post(client, slug, "members/invite", email="boss@example.com", role="owner").status_code == 403
    assert _membership(tenant_a.tenant.id, "worker@example.com").role == "member"
    assert mail_sink.messages == []


def test_bad_input_gets_a_message_not_an_error(client, tenant_a):
    member = _add(tenant_a, "worker@example.com", "member")
    login(client, tenant_a.email, tenant_a.password)
    slug = tenant_a.slug
    assert _post(client, slug, f"members/{member.id}/role", role="emperor").status_code == 422
    assert _post(client, slug, "members/invite", email="not-an-email", role="member").status_code in (
        400,
        422,
    )
    already = _post(client, slug, "members/invite", email="worker@example.com", role="member")
    assert already.status_code == 422 and "already a member" in already.text
    no_csrf = client.post(f"/t/{slug}/settings/members/{member.id}/remove")
    assert no_csrf.status_code == 400 and _membership(tenant_a.tenant.id, "worker@example.com") is not None


def test_members_get_403_on_the_users_pages(client, tenant_a):
    other = _add(tenant_a, "other@example.com", "member")
    _add(tenant_a, "worker@example.com", "member")
    login(client, "worker@example.com", PASSWORD)
    assert _members_page(client, tenant_a.slug).status_code == 403
    token = csrf_token_from(client.get("/login").text)
    response = client.post(
        f"/t/{tenant_a.slug}/settings/members/{other.id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 403 and _membership(tenant_a.tenant.id, "other@example.com") is not None


def test_sign_in_lands_in_the_one_workspace_still_open_to_a_member_deactivated_elsewhere(
    app, client, tenant_a, tenant_b
):
    worker = _add(tenant_a, f"twice-{tenant_a.slug}@example.com", "member")
    _add(tenant_b, f"twice-{tenant_a.slug}@example.com", "member")
    login(client, tenant_a.email, tenant_a.password)
    assert _post(client, tenant_a.slug, f"members/{worker.id}/deactivate").status_code == 302
    browser = new_browser(app)
    response = login(browser, f"twice-{tenant_a.slug}@example.com", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{tenant_b.slug}/"
    # The workspace list offers only the workspace still open to them.
    listed = browser.get("/workspaces").text
    assert f"/t/{tenant_b.slug}/" in listed and f"/t/{tenant_a.slug}/" not in listed
