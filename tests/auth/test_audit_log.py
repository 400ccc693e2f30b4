"""The audit log for owners and admins: page and API, filtered by action and actor, paginated."""

from __future__ import annotations

from saas.audit import record_audit
from saas.auth.services import add_member, find_user_by_email
from saas.db import db
from saas.tenants.audit_log import PAGE_SIZE
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


def _switch_module_off(client, slug: str, key: str = "sfa"):
    page = client.get(f"/t/{slug}/settings/modules")
    return client.post(
        f"/t/{slug}/settings/modules",
        data={"csrf_token": csrf_token_from(page.text), "module": key, "enabled": "0"},
    )


def test_admin_action_shows_who_did_what_when_and_from_where(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert _switch_module_off(client, tenant_a.slug).status_code == 302
    page = client.get(f"/t/{tenant_a.slug}/settings/audit")
    assert page.status_code == 200
    row = next(line for line in page.text.split("<tr>") if "module.disabled" in line)
    assert tenant_a.email in row and "<td>127.0.0.1</td>" in row and "<td>sfa</td>" in row


def test_filters_by_action_family_and_by_actor_email(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "helper@example.com", PASSWORD, "admin", actor="test")
    helper = find_user_by_email(db.session, "helper@example.com")
    owner = find_user_by_email(db.session, tenant_a.email)
    record_audit(db.session, "privacy.request.created", actor=str(helper.id), tenant_id=tenant_a.tenant.id)
    record_audit(db.session, "export.started", actor=str(owner.id), tenant_id=tenant_a.tenant.id)
    record_audit(db.session, "privacy.erasure.done", actor="job", tenant_id=tenant_a.tenant.id)
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)

    privacy = client.get(f"/t/{tenant_a.slug}/settings/audit?action=privacy").text
    assert "privacy.request.created" in privacy and "privacy.erasure.done" in privacy
    assert "export.started" not in privacy
    by_helper = client.get(f"/t/{tenant_a.slug}/settings/audit?actor=helper@example.com").text
    assert "privacy.request.created" in by_helper and "export.started" not in by_helper
    assert "member.added" not in by_helper  # that one was done by "test"
    by_job = client.get(f"/t/{tenant_a.slug}/settings/audit?actor=job&action=privacy.erasure.done").text
    assert "privacy.erasure.done" in by_job and "privacy.request.created" not in by_job
    nobody = client.get(f"/t/{tenant_a.slug}/settings/audit?actor=nobody@example.com").text
    assert "No entries." in nobody


def test_page_and_api_are_paginated_newest_first_without_gaps_or_repeats(client, tenant_a):
    for number in range(PAGE_SIZE + 5):
        record_audit(db.session, f"test.step{number:03d}", actor="test", tenant_id=tenant_a.tenant.id)
    db.session.commit()
    secret = make_token(tenant_a)
    seen: list[str] = []
    cursor = ""
    while True:
        body = client.get(f"/api/v1/audit?action=test&limit=20{cursor}", headers=bearer(secret)).get_json()
        seen += [entry["action"] for entry in body["data"]]
        if body["next_before"] is None:
            break
        cursor = f"&before={body['next_before']}"
    assert seen == [f"test.step{n:03d}" for n in reversed(range(PAGE_SIZE + 5))]

    login(client, tenant_a.email, tenant_a.password)
    first = client.get(f"/t/{tenant_a.slug}/settings/audit?action=test")
    assert first.text.count("test.step") == PAGE_SIZE and "Older entries" in first.text
    assert f"test.step{PAGE_SIZE + 4:03d}" in first.text and "test.step000" not in first.text


def test_api_answers_with_the_entries_and_refuses_bad_input_and_members(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    _switch_module_off(client, tenant_a.slug)
    secret = make_token(tenant_a)
    body = client.get("/api/v1/audit?action=module", headers=bearer(secret)).get_json()
    [entry] = body["data"]
    assert entry["action"] == "module.disabled" and entry["actor_email"] == tenant_a.email
    assert (
        entry["ip"] == "127.0.0.1" and entry["target"] == "sfa" and entry["details"] == {"was_enabled": True}
    )
    bad = client.get("/api/v1/audit?limit=100000", headers=bearer(secret))
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/audit").status_code == 401

    add_member(db.session, tenant_a.tenant.id, "plain@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    from tests.conftest import TenantFixture

    member_secret = make_token(TenantFixture(tenant_a.tenant, tenant_a.slug, "plain@example.com", PASSWORD))
    assert client.get("/api/v1/audit", headers=bearer(member_secret)).status_code == 403


def test_members_get_403_on_the_audit_page(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "plain@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, "plain@example.com", PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/audit").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/settings/audit?before=x").status_code == 403


def test_a_bad_cursor_on_the_page_is_a_message_not_an_error(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert client.get(f"/t/{tenant_a.slug}/settings/audit?before=yesterday").status_code == 422
