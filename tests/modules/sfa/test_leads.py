"""Leads through the API and the pages: capture, owner, statuses, filters, pagination, bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas.auth.services import add_member, find_user_by_email
from saas.db import db, tenant_session
from saas.modules.sfa.models import Lead
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _user_id(email: str) -> str:
    return str(find_user_by_email(db.session, email).id)


def _count(fixture) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(Lead))


def test_lead_crud_round_trip_and_owner_defaults_to_the_creator(client, tenant_a, headers):
    created = client.post(
        "/api/v1/leads",
        json={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example",
              "company": "Analytical Engines", "source": "trade fair"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    lead = created.get_json()
    assert lead["status"] == "new" and lead["owner_user_id"] == _user_id(tenant_a.email)
    url = f"/api/v1/leads/{lead['id']}"
    assert client.get(url, headers=headers).get_json()["company"] == "Analytical Engines"
    patched = client.patch(url, json={"status": "working", "owner_user_id": None}, headers=headers)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["status"] == "working" and patched.get_json()["owner_user_id"] is None
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_owner_may_be_any_member_but_no_outsider(client, tenant_a, tenant_b, headers):
    member = add_member(db.session, tenant_a.tenant.id, "seller@alpha.example", PASSWORD, "member", actor="t")
    db.session.commit()
    ok = client.post(
        "/api/v1/leads", json={"last_name": "Owned", "owner_user_id": str(member.user_id)}, headers=headers
    )
    assert ok.status_code == 201 and ok.get_json()["owner_user_id"] == str(member.user_id)
    before = _count(tenant_a)
    outsider = client.post(
        "/api/v1/leads",
        json={"last_name": "Stolen", "owner_user_id": _user_id(tenant_b.email)},
        headers=headers,
    )
    assert outsider.status_code == 422 and "owner_user_id" in outsider.get_json()["errors"]
    assert _count(tenant_a) == before


def test_list_filters_by_status_owner_and_search_and_pages_through_everything(client, tenant_a, headers):
    member = add_member(db.session, tenant_a.tenant.id, "rep@alpha.example", PASSWORD, "member", actor="t")
    db.session.commit()
    for i in range(12):
        body = {"last_name": f"Lead{i:02d}", "status": "qualified" if i % 3 == 0 else "new"}
        if i % 4 == 0:
            body["owner_user_id"] = str(member.user_id)
        assert client.post("/api/v1/leads", json=body, headers=headers).status_code == 201
    qualified = client.get("/api/v1/leads?status=qualified", headers=headers).get_json()["data"]
    assert [row["last_name"] for row in qualified] == ["Lead00", "Lead03", "Lead06", "Lead09"]
    owned = client.get(f"/api/v1/leads?owner={member.user_id}&status=qualified", headers=headers).get_json()
    assert [row["last_name"] for row in owned["data"]] == ["Lead00"]
    found = client.get("/api/v1/leads?q=lead1", headers=headers).get_json()["data"]
    assert [row["last_name"] for row in found] == ["Lead10", "Lead11"]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/leads?status=new&limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=headers
        ).get_json()
        seen += [row["last_name"] for row in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Lead{i:02d}" for i in range(12) if i % 3]


BAD_LEADS = [
    ({"first_name": None, "last_name": None}, "last_name"),
    ({"last_name": "Ok", "email": "not-an-email"}, "email"),
    ({"last_name": "Ok", "status": "won"}, "status"),
    ({"last_name": "Ok", "status": "converted"}, "status"),
    ({"last_name": "Ok", "owner_user_id": "not-a-uuid"}, "owner_user_id"),
    ({"last_name": "Ok", "owner_user_id": "7f1d3f62-5a6b-4a8e-9f00-000000000000"}, "owner_user_id"),
    ({"last_name": "Ok", "company": "c" * 201}, "company"),
    ({"last_name": "Ok", "unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("body", "field"), BAD_LEADS)
def test_bad_lead_is_refused_with_a_problem_and_nothing_written(client, tenant_a, headers, body, field):
    before = _count(tenant_a)
    response = client.post("/api/v1/leads", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert _count(tenant_a) == before


@pytest.mark.parametrize(
    ("body", "field"), [*BAD_LEADS[1:], ({"first_name": None, "last_name": None}, "last_name")]
)
def test_bad_lead_update_is_refused_and_changes_nothing(client, tenant_a, headers, body, field):
    created = client.post(
        "/api/v1/leads", json={"last_name": "Stable", "email": "s@x.example"}, headers=headers
    )
    url = f"/api/v1/leads/{created.get_json()['id']}"
    response = client.patch(url, json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    after = client.get(url, headers=headers).get_json()
    assert (after["last_name"], after["email"], after["status"]) == ("Stable", "s@x.example", "new")


def test_bad_list_parameters_get_a_problem(client, tenant_a, headers):
    for query in ("status=won", "owner=nobody", "cursor=garbage", "limit=0"):
        response = client.get(f"/api/v1/leads?{query}", headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", query


def test_member_captures_filters_edits_and_deletes_a_lead_through_pages(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/leads/new")
    assert form.status_code == 200
    me = _user_id(tenant_a.email)
    # The creator is the preselected (first) owner.
    assert re.search(r'<select id="owner_user_id"[^>]*>\s*<option value="' + me, form.text)
    token = csrf_token_from(form.text)
    created = client.post(
        f"{base}/leads/new",
        data={"csrf_token": token, "first_name": "Grace", "last_name": "Hopper",
              "email": "grace@navy.example", "status": "working", "owner_user_id": me, "source": "web"},
    )  # fmt: skip
    assert created.status_code == 302, created.text
    detail = client.get(created.headers["Location"])
    assert "Grace" in detail.text and tenant_a.email in detail.text
    lead_id = re.search(r"/leads/([0-9a-f-]{36})", created.headers["Location"]).group(1)
    client.post(f"{base}/leads/new", data={"csrf_token": token, "last_name": "Other", "status": "new",
                                          "owner_user_id": me})  # fmt: skip
    working = client.get(f"{base}/leads?status=working")
    assert "Hopper" in working.text and "Other" not in working.text
    assert "Other" in client.get(f"{base}/leads?status=&q=oth").text
    bad_filter = client.get(f"{base}/leads?status=won")
    assert bad_filter.status_code == 422 and "Please correct the filters" in bad_filter.text

    edited = client.post(
        f"{base}/leads/{lead_id}/edit",
        data={"csrf_token": token, "last_name": "Hopper", "status": "qualified", "owner_user_id": me},
    )
    assert edited.status_code == 302
    assert "Convert lead" in client.get(f"{base}/leads/{lead_id}").text
    assert client.post(f"{base}/leads/{lead_id}/delete", data={"csrf_token": token}).status_code == 302
    assert client.get(f"{base}/leads/{lead_id}").status_code == 404


def test_invalid_lead_form_shows_messages_and_writes_nothing(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/leads/new")
    before = _count(tenant_a)
    response = client.post(
        f"/t/{tenant_a.slug}/leads/new",
        data={"csrf_token": csrf_token_from(form.text), "last_name": "", "email": "bad@",
              "status": "converted", "company": "Kept Co"},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and 'value="Kept Co"' in response.text
    assert _count(tenant_a) == before
    assert client.post(f"/t/{tenant_a.slug}/leads/new", data={"last_name": "NoToken"}).status_code == 400
    assert _count(tenant_a) == before


def test_openapi_document_lists_the_lead_and_import_resources(client):
    paths = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    assert {
        "/api/v1/leads", "/api/v1/leads/{record_id}", "/api/v1/leads/{lead_id}/convert", "/api/v1/imports",
        "/api/v1/imports/{job_id}", "/api/v1/imports/{job_id}/errors",
    } <= paths  # fmt: skip
