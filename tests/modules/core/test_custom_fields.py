"""Custom fields: typed, indexed columns in the tenant's own schema, in the API (values, filters), safe to
rename and delete (data kept until purge), bad definitions and bad values refused with 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from saas.db import db, tenant_session
from tests.conftest import bearer, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _columns(fixture, table: str) -> dict[str, str]:
    # information_schema shows a role only its own columns: ask as the tenant.
    with tenant_session(fixture.ref) as session:
        rows = session.execute(
            text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :schema AND table_name = :table AND column_name LIKE 'cf\\_%'"
            ),
            {"schema": fixture.ref.schema_name, "table": table},
        )
        return dict(rows.all())


def _define(client, headers, **body):
    response = client.post("/api/v1/custom-fields", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_custom_field_is_a_typed_indexed_column_in_the_api_and_filters_of_its_tenant_only(
    client, tenant_a, tenant_b, headers
):
    size = _define(
        client, headers, entity="contacts", key="shoe_size", label="Shoe size", field_type="number"
    )
    _define(
        client, headers, entity="contacts", key="tags", label="Tags", field_type="multi_select",
        options=["vip", "press", "partner"],
    )  # fmt: skip
    _define(client, headers, entity="contacts", key="since", label="Customer since", field_type="date")
    assert _columns(tenant_a, "contacts") == {
        "cf_shoe_size": "numeric",
        "cf_tags": "ARRAY",
        "cf_since": "date",
    }
    assert _columns(tenant_b, "contacts") == {}
    indexes = db.session.execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND indexname LIKE 'ix_contacts_cf_%'"),
        {"s": tenant_a.ref.schema_name},
    ).scalars()
    assert set(indexes) == {"ix_contacts_cf_shoe_size", "ix_contacts_cf_tags", "ix_contacts_cf_since"}

    def create(name, values):
        response = client.post(
            "/api/v1/contacts", json={"last_name": name, "custom_fields": values}, headers=headers
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    big = create("Big", {"shoe_size": "46.5", "tags": ["vip", "press"], "since": "2020-02-29"})
    assert big["custom_fields"] == {"shoe_size": "46.5", "tags": ["vip", "press"], "since": "2020-02-29"}
    create("Small", {"shoe_size": 38, "tags": ["press"]})
    create("None", {})
    names = lambda query: [  # noqa: E731
        row["last_name"]
        for row in client.get(f"/api/v1/contacts?{query}", headers=headers).get_json()["data"]
    ]
    assert names("cf_shoe_size=46.5") == ["Big"]
    assert names("cf_tags=press") == ["Big", "Small"]
    assert names("cf_tags=vip&cf_shoe_size=46.5") == ["Big"]
    assert names("cf_since=2020-02-29") == ["Big"]
    listed = client.get("/api/v1/contacts", headers=headers).get_json()["data"]
    assert {row["last_name"]: row["custom_fields"]["shoe_size"] for row in listed} == {
        "Big": "46.5", "None": None, "Small": "38"
    }  # fmt: skip
    patched = client.patch(
        f"/api/v1/contacts/{big['id']}", json={"custom_fields": {"shoe_size": None}}, headers=headers
    )
    assert patched.get_json()["custom_fields"]["shoe_size"] is None
    assert patched.get_json()["custom_fields"]["tags"] == ["vip", "press"]  # untouched values stay
    # Tenant B has none of it: no column, no key in answers, filters on it refused.
    b_headers = bearer(make_token(tenant_b))
    b_contact = client.post("/api/v1/contacts", json={"last_name": "B"}, headers=b_headers).get_json()
    assert b_contact["custom_fields"] == {}
    refused = client.get("/api/v1/contacts?cf_shoe_size=46.5", headers=b_headers)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/custom-fields/{size['id']}", headers=b_headers).status_code == 404
    assert client.get("/api/v1/custom-fields", headers=b_headers).get_json()["data"] == []


def test_bad_values_and_filters_get_422_and_write_nothing(client, tenant_a, headers):
    _define(client, headers, entity="contacts", key="size", label="Size", field_type="number", required=True)
    _define(
        client,
        headers,
        entity="contacts",
        key="tier",
        label="Tier",
        field_type="single_select",
        options=["a", "b"],
    )
    _define(client, headers, entity="contacts", key="site", label="Site", field_type="url")
    _define(
        client,
        headers,
        entity="contacts",
        key="boss",
        label="Boss",
        field_type="reference",
        reference="contacts",
    )
    bad = [
        {"size": "many"},
        {"size": 1, "tier": "c"},
        {"size": 1, "site": "javascript:alert(1)"},
        {"size": 1, "boss": "00000000-0000-0000-0000-000000000000"},
        {"size": 1, "unknown": 1},
        {"tier": "a"},  # required size missing
    ]
    for values in bad:
        response = client.post(
            "/api/v1/contacts", json={"last_name": "X", "custom_fields": values}, headers=headers
        )
        assert response.status_code == 422, (values, response.get_json())
    assert client.get("/api/v1/contacts", headers=headers).get_json()["data"] == []
    for query in ("cf_size=abc", "cf_nope=1", "cf_tier=zzz"):
        assert client.get(f"/api/v1/contacts?{query}", headers=headers).status_code == 422, query
    ok = client.post(
        "/api/v1/contacts",
        json={"last_name": "X", "custom_fields": {"size": 3, "tier": "b"}},
        headers=headers,
    )
    assert ok.status_code == 201
    boss = ok.get_json()["id"]
    linked = client.post(
        "/api/v1/contacts",
        json={"last_name": "Y", "custom_fields": {"size": 1, "boss": boss}},
        headers=headers,
    )
    assert linked.status_code == 201 and linked.get_json()["custom_fields"]["boss"] == boss


def test_bad_definitions_are_refused_with_a_clear_message(client, tenant_a, headers):
    number = _define(client, headers, entity="contacts", key="score", label="Score", field_type="number")
    cases = [
        ({"entity": "contacts", "key": "email", "label": "E", "field_type": "text"}, 422, "reserved"),
        ({"entity": "contacts", "key": "Shoe Size", "label": "S", "field_type": "text"}, 422, "lowercase"),
        ({"entity": "contacts", "key": "score", "label": "S", "field_type": "text"}, 422, "taken"),
        ({"entity": "contacts", "key": "x", "label": "X", "field_type": "blob"}, 422, ""),
        ({"entity": "contacts", "key": "x", "label": "X", "field_type": "single_select"}, 422, "choice"),
        (
            {"entity": "contacts", "key": "x", "label": "X", "field_type": "reference", "reference": "users"},
            422,
            "",
        ),
        (
            {"entity": "pipelines", "key": "x", "label": "X", "field_type": "text"},
            404,
            "take no custom fields",
        ),
        (
            {"entity": "contacts", "key": "x", "label": "X", "field_type": "number", "default_value": "lots"},
            422,
            "",
        ),
    ]
    for body, status, words in cases:
        response = client.post("/api/v1/custom-fields", json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
        assert words in response.get_json()["detail"], response.get_json()
    changed = client.patch(
        f"/api/v1/custom-fields/{number['id']}", json={"field_type": "text"}, headers=headers
    )
    assert changed.status_code == 409 and "lose" in changed.get_json()["detail"]
    assert _columns(tenant_a, "contacts") == {"cf_score": "numeric"}
    listed = client.get("/api/v1/custom-fields", headers=headers).get_json()["data"]
    assert [f["key"] for f in listed] == ["score"]


def test_rename_and_delete_keep_the_data_until_purge(client, tenant_a, headers):
    field = _define(client, headers, entity="accounts", key="segment", label="Segment", field_type="text")
    account = client.post(
        "/api/v1/accounts", json={"name": "Initech", "custom_fields": {"segment": "SMB"}}, headers=headers
    ).get_json()
    url, item = f"/api/v1/custom-fields/{field['id']}", f"/api/v1/accounts/{account['id']}"
    renamed = client.patch(url, json={"label": "Market segment", "field_type": "long_text"}, headers=headers)
    assert renamed.status_code == 200 and renamed.get_json()["label"] == "Market segment"
    assert client.get(item, headers=headers).get_json()["custom_fields"] == {"segment": "SMB"}
    assert client.delete(url, headers=headers).status_code == 200
    assert client.get(item, headers=headers).get_json()["custom_fields"] == {}
    assert client.get("/api/v1/accounts?cf_segment=SMB", headers=headers).status_code == 422
    assert _columns(tenant_a, "accounts") == {"cf_segment": "text"}  # still there, with its data
    assert client.post(f"{url}/restore", headers=headers).status_code == 200
    assert client.get(item, headers=headers).get_json()["custom_fields"] == {"segment": "SMB"}
    assert client.post(f"{url}/purge", headers=headers).status_code == 409  # delete first
    client.delete(url, headers=headers)
    assert client.post(f"{url}/purge", headers=headers).status_code == 204
    assert _columns(tenant_a, "accounts") == {}
    assert client.get(url, headers=headers).status_code == 404


def test_export_and_import_carry_custom_fields_and_their_values(client, tenant_a, headers, tmp_path):
    from saas.exports.services import export_tenant_to_file
    from tests.exports.test_round_trip import _import

    _define(client, headers, entity="contacts", key="size", label="Size", field_type="number")
    _define(
        client, headers, entity="contacts", key="tags", label="Tags", field_type="multi_select", options=["x"]
    )
    client.post(
        "/api/v1/contacts",
        json={"last_name": "Kept", "custom_fields": {"size": 7, "tags": ["x"]}},
        headers=headers,
    )
    with open(tmp_path / "a.zip", "wb") as target:
        manifest = export_tenant_to_file(tenant_a.tenant, target)
    described = {c["name"]: c["type"] for c in manifest["tables"]["contacts"]["columns"]}
    assert described["cf_size"] == "numeric" and described["cf_tags"] == "character varying(100)[]"
    imported = _import(tmp_path / "a.zip")
    from tests.conftest import TenantFixture

    copy = TenantFixture(tenant=imported.tenant, slug=imported.tenant.slug, email="", password="")
    assert _columns(copy, "contacts") == {"cf_size": "numeric", "cf_tags": "ARRAY"}
    from saas.auth.services import create_api_token

    _, secret = create_api_token(db.session, imported.tenant.slug, f"{imported.tenant.slug}@example.com", "t")
    db.session.commit()
    rows = client.get("/api/v1/contacts?cf_tags=x&cf_size=7", headers=bearer(secret)).get_json()["data"]
    assert [(r["last_name"], r["custom_fields"]) for r in rows] == [("Kept", {"size": "7", "tags": ["x"]})]
