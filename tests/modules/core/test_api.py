"""The contacts and accounts API: CRUD, pagination, and bad input that writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.db import tenant_session
from saas.modules.core.models import Account, Contact
from tests.conftest import bearer, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _count(fixture, model) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_contact_crud_round_trip(client, tenant_a, headers):
    account = client.post(
        "/api/v1/accounts", json={"name": "Initech", "domain": "initech.example"}, headers=headers
    )
    assert account.status_code == 201
    account_id = account.get_json()["id"]
    created = client.post(
        "/api/v1/contacts",
        json={
            "first_name": " Peter ",
            "last_name": "Gibbons",
            "email": "peter@initech.example",
            "account_id": account_id,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    contact = created.get_json()
    assert contact["first_name"] == "Peter" and contact["account_id"] == account_id
    url = f"/api/v1/contacts/{contact['id']}"
    assert client.get(url, headers=headers).get_json()["email"] == "peter@initech.example"
    patched = client.patch(url, json={"title": "Engineer"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["title"] == "Engineer"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_list_pages_through_every_contact_once_in_name_order(client, tenant_a, headers):
    names = [f"Person{i:02d}" for i in range(25)]
    for name in reversed(names):
        assert client.post("/api/v1/contacts", json={"last_name": name}, headers=headers).status_code == 201
    seen, cursor = [], None
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/contacts{query}", headers=headers).get_json()
        seen += [row["last_name"] for row in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == names
    found = client.get("/api/v1/contacts?q=person1", headers=headers).get_json()["data"]
    assert [row["last_name"] for row in found] == [f"Person1{i}" for i in range(10)]


def test_search_treats_wildcards_literally(client, tenant_a, headers):
    client.post("/api/v1/accounts", json={"name": "100% Juice"}, headers=headers)
    client.post("/api/v1/accounts", json={"name": "Plain"}, headers=headers)
    # Searches are by word (t0013): "%" is punctuation, neither a wildcard nor a word of its own.
    found = client.get("/api/v1/accounts?q=100%25", headers=headers).get_json()["data"]
    assert [row["name"] for row in found] == ["100% Juice"]
    assert client.get("/api/v1/accounts?q=%25", headers=headers).get_json()["data"] == []


BAD_CONTACTS = [
    ({"first_name": None, "last_name": None}, "last_name"),
    ({"last_name": "Ok", "email": "not-an-email"}, "email"),
    ({"last_name": "Ok", "unknown_field": 1}, "unknown_field"),
    ({"last_name": "x" * 101}, "last_name"),
    ({"last_name": "Ok", "account_id": "not-a-uuid"}, "account_id"),
    ({"last_name": "Ok", "account_id": "7f1d3f62-5a6b-4a8e-9f00-000000000000"}, "account_id"),
    ({"last_name": 12}, "last_name"),
]
BAD_ACCOUNTS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "y" * 201}, "name"),
    ({"name": "Ok", "domain": "d" * 254}, "domain"),
    ({"name": "Ok", "extra": True}, "extra"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CONTACTS)
def test_bad_contact_is_refused_with_a_problem_and_nothing_written(client, tenant_a, headers, body, field):
    before = _count(tenant_a, Contact)
    response = client.post("/api/v1/contacts", json=body, headers=headers)
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["status"] == 422 and field in problem["errors"] and field in problem["detail"]
    assert _count(tenant_a, Contact) == before


@pytest.mark.parametrize(("body", "field"), BAD_ACCOUNTS)
def test_bad_account_is_refused_with_a_problem_and_nothing_written(client, tenant_a, headers, body, field):
    before = _count(tenant_a, Account)
    response = client.post("/api/v1/accounts", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert _count(tenant_a, Account) == before


@pytest.mark.parametrize(
    ("body", "field"), [*BAD_CONTACTS[1:], ({"first_name": None, "last_name": None}, "last_name")]
)
def test_bad_contact_update_is_refused_and_changes_nothing(client, tenant_a, headers, body, field):
    created = client.post(
        "/api/v1/contacts", json={"last_name": "Stable", "email": "s@example.com"}, headers=headers
    )
    url = f"/api/v1/contacts/{created.get_json()['id']}"
    response = client.patch(url, json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    after = client.get(url, headers=headers).get_json()
    assert after["last_name"] == "Stable" and after["email"] == "s@example.com"


@pytest.mark.parametrize(
    "request_body",
    [b"{not json", b"[1, 2]", b'"a string"'],
)
def test_malformed_json_gets_a_4xx_problem(client, tenant_a, headers, request_body):
    response = client.post(
        "/api/v1/contacts", data=request_body, headers={**headers, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"


def test_bad_query_parameters_get_a_problem(client, tenant_a, headers):
    assert client.get("/api/v1/contacts?limit=0", headers=headers).status_code == 422
    assert client.get("/api/v1/contacts?limit=abc", headers=headers).status_code == 422
    bad_cursor = client.get("/api/v1/contacts?cursor=garbage", headers=headers)
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.get_json()["errors"]


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Bearer crm_forged", "Basic abc"])
def test_requests_without_a_valid_token_get_401_problem(client, tenant_a, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_unknown_api_route_and_bad_id_get_problem_404(client, tenant_a, headers):
    for url in ("/api/v1/nothing-here", "/api/v1/contacts/not-a-uuid"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_openapi_document_lists_the_resources(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/contacts", "/api/v1/contacts/{record_id}", "/api/v1/accounts"} <= set(spec["paths"])
