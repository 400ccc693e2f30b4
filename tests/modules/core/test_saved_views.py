"""Saved views: named list queries per member or shared; only parameters the list accepts are kept;
another member's private view and another tenant's views stay out of sight and out of reach."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from saas.auth.services import add_member, create_api_token
from saas.db import db, tenant_session
from saas.modules.core import custom_fields
from saas.modules.core.models import SavedView
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


def _views(fixture) -> list[tuple]:
    with tenant_session(fixture.ref) as session:
        rows = session.execute(
            select(SavedView.name, SavedView.query, SavedView.shared).order_by(SavedView.name)
        )
        return [tuple(row) for row in rows]


def _member_headers(fixture, email: str = "worker@example.com") -> dict[str, str]:
    add_member(db.session, fixture.tenant.id, email, PASSWORD, "member", actor="test")
    _, secret = create_api_token(db.session, fixture.slug, email, "tests")
    db.session.commit()
    return bearer(secret)


@pytest.fixture
def tier_field(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        custom_fields.define_field(
            session, "contacts", {"key": "tier", "label": "Tier", "field_type": "text"}
        )
        db.session.commit()  # its audit entry


def test_a_saved_view_lists_and_reopens_the_same_filtered_list(client, tenant_a, tier_field):
    headers = bearer(make_token(tenant_a))
    for last, tier in [("Gold", "gold"), ("Silver", "silver"), ("Goldish", "gold")]:
        created = client.post(
            "/api/v1/contacts", json={"last_name": last, "custom_fields": {"tier": tier}}, headers=headers
        )
        assert created.status_code == 201, created.get_json()
    saved = client.post(
        "/api/v1/saved-views",
        json={"entity": "contacts", "name": "Gold ones", "query": {"q": "gold", "cf_tier": "gold", "x": ""}},
        headers=headers,
    )
    assert saved.status_code == 201, saved.get_json()
    body = saved.get_json()
    # Empty parameters mean "any" and are dropped.
    assert body["query"] == {"cf_tier": "gold", "q": "gold"} and body["shared"] is False
    listed = client.get("/api/v1/saved-views?entity=contacts", headers=headers).get_json()["data"]
    assert [v["id"] for v in listed] == [body["id"]]
    reopened = client.get(f"/api/v1/contacts?{listed[0]['query_string']}", headers=headers).get_json()
    assert sorted(c["last_name"] for c in reopened["data"]) == ["Gold", "Goldish"]
    assert client.get("/api/v1/saved-views?entity=accounts", headers=headers).get_json()["data"] == []

    assert client.delete(f"/api/v1/saved-views/{body['id']}", headers=headers).status_code == 204
    assert _views(tenant_a) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entity": "contacts", "name": "S", "query": {"sort": "no_such_column"}}, "sort"),
        ({"entity": "contacts", "name": "S", "query": {"sort": "-cf_nope"}}, "sort"),
        ({"entity": "contacts", "name": "K", "query": {}, "columns": ["name", "shoe_size"]}, "columns"),
        ({"entity": "tickets", "name": "K", "query": {}, "columns": ["subject", "shoe_size"]}, "columns"),
        ({"entity": "contacts", "name": "C", "query": {"cursor": "abc"}}, "cursor"),
        ({"entity": "contacts", "name": "U", "query": {"cf_nope": "x"}}, "cf_nope"),
        ({"entity": "accounts", "name": "A", "query": {"status": "open"}}, "status"),
        ({"entity": "leads", "name": "L", "query": {"status": "not-a-status"}}, "status"),
        ({"entity": "tasks", "name": "T", "query": {}}, "entity"),
        ({"entity": "contacts", "name": "", "query": {}}, "name"),
        ({"entity": "contacts", "name": "N", "query": {"q": ["a", "b"]}}, "query"),
        ({"entity": "contacts", "name": "N", "query": {}, "owner_user_id": "x"}, "owner_user_id"),
    ],
)
def test_bad_views_are_refused_with_422_and_nothing_is_written(client, tenant_a, payload, field):
    response = client.post("/api/v1/saved-views", json=payload, headers=bearer(make_token(tenant_a)))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in str(response.get_json())
    assert _views(tenant_a) == []


def test_lead_filters_are_accepted_for_leads(client, tenant_a):
    response = client.post(
        "/api/v1/saved-views",
        json={"entity": "leads", "name": "New leads", "query": {"status": "new", "q": "acme"}},
        headers=bearer(make_token(tenant_a)),
    )
    assert response.status_code == 201, response.get_json()
    assert _views(tenant_a) == [("New leads", {"q": "acme", "status": "new"}, False)]


def test_deal_and_ticket_filters_are_accepted_and_checked(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    tickets = {"entity": "tickets", "name": "Urgent", "query": {"priority": "urgent", "view": "unassigned"}}
    assert client.post("/api/v1/saved-views", json=tickets, headers=headers).status_code == 201
    bad = {**tickets, "query": {"priority": "whenever"}}
    assert client.post("/api/v1/saved-views", json=bad, headers=headers).status_code == 422
    deals = {"entity": "deals", "name": "Deals", "query": {"cursor": "x", "limit": "5"}}
    assert client.post("/api/v1/saved-views", json=deals, headers=headers).status_code == 422
    assert [name for name, _, _ in _views(tenant_a)] == ["Urgent"]


def test_save_this_view_on_the_leads_page_goes_back_to_the_filtered_leads(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/leads?status=new")
    assert page.status_code == 200 and 'name="entity" value="leads"' in page.text
    saved = client.post(
        f"{base}/saved-views",
        data={"csrf_token": csrf_token_from(page.text), "entity": "leads", "list_endpoint": "sfa.list_leads",
              "name": "New leads", "query": "status=new&q="},
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/leads?status=new")
    listing = client.get(saved.headers["Location"])
    assert f'href="{base}/leads?status=new">New leads</a>' in listing.text
    # A view's links are only ever on its own record type's list.
    assert "New leads" not in client.get(f"{base}/contacts").text


def test_views_of_a_switched_off_module_are_hidden_and_come_back(client, tenant_a):
    from saas.modules.switches import set_module_enabled

    headers = bearer(make_token(tenant_a))
    leads = {"entity": "leads", "name": "New leads", "query": {"status": "new"}}
    view = client.post("/api/v1/saved-views", json=leads, headers=headers).get_json()
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    assert client.get("/api/v1/saved-views", headers=headers).get_json()["data"] == []
    refused = client.post("/api/v1/saved-views", json=leads, headers=headers)
    assert refused.status_code == 404 and refused.get_json()["title"] == "Module switched off"
    assert client.delete(f"/api/v1/saved-views/{view['id']}", headers=headers).status_code == 404
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", True, actor="test")
    db.session.commit()
    assert [v["id"] for v in client.get("/api/v1/saved-views", headers=headers).get_json()["data"]] == [
        view["id"]
    ]


def test_private_views_stay_private_and_shared_views_are_seen_but_not_deleted_by_members(client, tenant_a):
    owner = bearer(make_token(tenant_a))
    member = _member_headers(tenant_a)
    mine = client.post(
        "/api/v1/saved-views", json={"entity": "contacts", "name": "Mine", "query": {"q": "a"}}, headers=owner
    ).get_json()
    shared = client.post(
        "/api/v1/saved-views",
        json={"entity": "contacts", "name": "Team", "query": {"q": "b"}, "shared": True},
        headers=owner,
    ).get_json()
    seen = client.get("/api/v1/saved-views", headers=member).get_json()["data"]
    assert [v["name"] for v in seen] == ["Team"]
    assert client.delete(f"/api/v1/saved-views/{mine['id']}", headers=member).status_code == 404
    assert client.delete(f"/api/v1/saved-views/{shared['id']}", headers=member).status_code == 403
    assert len(_views(tenant_a)) == 2

    # A member's own shared view: the owner (an admin) may remove it from the workspace.
    theirs = client.post(
        "/api/v1/saved-views",
        json={"entity": "accounts", "name": "Theirs", "query": {}, "shared": True},
        headers=member,
    ).get_json()
    assert client.delete(f"/api/v1/saved-views/{theirs['id']}", headers=owner).status_code == 204
    assert [name for name, _, _ in _views(tenant_a)] == ["Mine", "Team"]


def test_tenant_b_cannot_see_or_delete_tenant_a_views(client, tenant_a, tenant_b):
    a_view = client.post(
        "/api/v1/saved-views",
        json={"entity": "contacts", "name": "Alpha secret view", "query": {"q": "x"}, "shared": True},
        headers=bearer(make_token(tenant_a)),
    ).get_json()
    b_headers = bearer(make_token(tenant_b))
    assert client.get("/api/v1/saved-views", headers=b_headers).get_json()["data"] == []
    refused = client.delete(f"/api/v1/saved-views/{a_view['id']}", headers=b_headers)
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"

    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/contacts")
    assert page.status_code == 200 and "Alpha secret view" not in page.text
    deleted = client.post(
        f"/t/{tenant_b.slug}/saved-views/{a_view['id']}/delete",
        data={"csrf_token": csrf_token_from(page.text)},
    )
    assert deleted.status_code == 404
    assert _views(tenant_a) == [("Alpha secret view", {"q": "x"}, True)]


def test_save_this_view_on_the_contacts_page_and_reopen_it(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/contacts?q=acme")
    assert "Save this view" in page.text and "No saved views yet." in page.text
    csrf = csrf_token_from(page.text)
    form = {"csrf_token": csrf, "entity": "contacts", "list_endpoint": "core.list_contacts"}
    saved = client.post(
        f"{base}/saved-views",
        data={**form, "name": "Acme people", "shared": "on", "query": "q=acme&cursor=zz"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/contacts?q=acme")
    assert _views(tenant_a) == [("Acme people", {"q": "acme"}, True)]
    listing = client.get(f"{base}/contacts")
    assert "Acme people" in listing.text and "(shared)" in listing.text
    link = re.search(r'<a href="([^"]+)">Acme people</a>', listing.text).group(1)
    assert link == f"{base}/contacts?q=acme"

    refused = client.post(
        f"{base}/saved-views", data={**form, "name": "Bad", "query": urlencode({"bogus": "x"})}
    )
    assert refused.status_code == 303
    message = client.get(refused.headers["Location"]).text
    assert "The view was not saved" in message and "no parameter" in message
    assert len(_views(tenant_a)) == 1

    view_id = re.search(r"/saved-views/([0-9a-f-]{36})/delete", listing.text).group(1)
    deleted = client.post(
        f"{base}/saved-views/{view_id}/delete",
        data={"csrf_token": csrf, "list_endpoint": "core.list_contacts"},
    )
    assert deleted.status_code == 303 and _views(tenant_a) == []


def test_accounts_page_offers_saved_views_too(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/accounts")
    assert 'name="entity" value="accounts"' in page.text
    assert client.get(f"/t/{tenant_a.slug}/accounts").status_code == 200
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(SavedView)) == 0
