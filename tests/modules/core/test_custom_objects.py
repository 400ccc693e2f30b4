"""Custom objects: a workspace's own record types, each a real table with typed, indexed columns, served by
the same record layer as contacts (API, search, sort, filters, relations), defined and purged safely, and
never visible to another workspace."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from saas.db import tenant_session
from saas.errors import ValidationError
from tests.conftest import bearer, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _post(client, headers, path, body, status=201):
    response = client.post(f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def define_vehicle(client, headers):
    """Vehicle, with a plate number as its name, a relation to Account and a typed field."""
    vehicle = _post(
        client, headers, "/custom-objects",
        {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles", "name_label": "Plate number",
         "icon": "car"},
    )  # fmt: skip
    _post(
        client, headers, "/custom-fields",
        {"entity": "co_vehicle", "key": "owner", "label": "Owner", "field_type": "reference",
         "reference": "accounts"},
    )  # fmt: skip
    _post(
        client, headers, "/custom-fields",
        {"entity": "co_vehicle", "key": "fuel", "label": "Fuel", "field_type": "single_select",
         "options": ["petrol", "diesel", "electric"]},
    )  # fmt: skip
    return vehicle


def _tables(fixture) -> set[str]:
    with tenant_session(fixture.ref) as session:
        rows = session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename LIKE 'co\\_%'"),
            {"s": fixture.ref.schema_name},
        )
        return set(rows.scalars())


def test_an_object_is_a_real_table_with_records_searched_sorted_and_filtered_like_contacts(
    client, tenant_a, tenant_b, headers
):
    vehicle = define_vehicle(client, headers)
    assert vehicle["table_name"] == "co_vehicle"
    assert _tables(tenant_a) == {"co_vehicle"} and _tables(tenant_b) == set()
    account = _post(client, headers, "/accounts", {"name": "Acme"})
    records = "/objects/vehicle/records"
    first = _post(
        client,
        headers,
        records,
        {"name": "B-XY 123", "custom_fields": {"owner": account["id"], "fuel": "diesel"}},
    )
    _post(client, headers, records, {"name": "M-AB 9", "custom_fields": {"fuel": "electric"}})
    assert first["custom_fields"] == {"owner": account["id"], "fuel": "diesel"}

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1{records}?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [r["name"] for r in response.get_json()["data"]]

    assert names("") == ["B-XY 123", "M-AB 9"]
    assert names("sort=-name") == ["M-AB 9", "B-XY 123"]
    assert names("q=xy") == ["B-XY 123"]
    assert names("cf_fuel=electric") == ["M-AB 9"]
    assert names(f"cf_owner={account['id']}") == ["B-XY 123"]
    # A relation to a record that does not exist, a missing name, a bad choice: 422, nothing stored.
    bad = client.post(
        f"/api/v1{records}", json={"name": "X", "custom_fields": {"fuel": "coal"}}, headers=headers
    )
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert client.post(f"/api/v1{records}", json={"name": " "}, headers=headers).status_code == 422
    assert names("") == ["B-XY 123", "M-AB 9"]
    changed = client.patch(
        f"/api/v1{records}/{first['id']}", json={"name": "B-XY 124"}, headers=headers
    ).get_json()
    assert changed["name"] == "B-XY 124" and changed["custom_fields"]["fuel"] == "diesel"
    assert client.delete(f"/api/v1{records}/{first['id']}", headers=headers).status_code == 204
    assert names("") == ["M-AB 9"]


def test_another_workspace_cannot_see_read_or_change_an_object_or_its_records(
    client, tenant_a, tenant_b, headers
):
    vehicle = define_vehicle(client, headers)
    record = _post(client, headers, "/objects/vehicle/records", {"name": "B-XY 123"})
    other = bearer(make_token(tenant_b))
    assert client.get("/api/v1/custom-objects", headers=other).get_json()["data"] == []
    assert client.get(f"/api/v1/custom-objects/{vehicle['id']}", headers=other).status_code == 404
    assert client.patch(
        f"/api/v1/custom-objects/{vehicle['id']}", json={"plural": "Cars"}, headers=other
    ).status_code in (403, 404)
    assert client.get("/api/v1/objects/vehicle/records", headers=other).status_code == 404
    assert client.get(f"/api/v1/objects/vehicle/records/{record['id']}", headers=other).status_code == 404
    assert (
        client.post("/api/v1/objects/vehicle/records", json={"name": "x"}, headers=other).status_code == 404
    )
    # The same key in B is B's own table, empty of A's records.
    define_vehicle(client, other)
    assert client.get("/api/v1/objects/vehicle/records", headers=other).get_json()["data"] == []
    assert client.get(f"/api/v1/objects/vehicle/records/{record['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/objects/vehicle/records/{record['id']}", headers=other).status_code == 404
    assert len(client.get("/api/v1/objects/vehicle/records", headers=headers).get_json()["data"]) == 1


def test_deleting_hides_an_object_and_keeps_its_data_until_an_explicit_purge(client, tenant_a, headers):
    vehicle = define_vehicle(client, headers)
    _post(client, headers, "/objects/vehicle/records", {"name": "B-XY 123"})
    assert client.delete(f"/api/v1/custom-objects/{vehicle['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/objects/vehicle/records", headers=headers).status_code == 404
    assert _tables(tenant_a) == {"co_vehicle"}
    restored = client.post(f"/api/v1/custom-objects/{vehicle['id']}/restore", headers=headers)
    assert restored.status_code == 200
    assert len(client.get("/api/v1/objects/vehicle/records", headers=headers).get_json()["data"]) == 1
    # Purging a live object is refused; a deleted one loses its table, fields and views.
    refused = client.post(f"/api/v1/custom-objects/{vehicle['id']}/purge", headers=headers)
    assert refused.status_code == 409
    client.delete(f"/api/v1/custom-objects/{vehicle['id']}", headers=headers)
    assert client.post(f"/api/v1/custom-objects/{vehicle['id']}/purge", headers=headers).status_code == 204
    assert _tables(tenant_a) == set()
    fields = client.get("/api/v1/custom-fields?entity=co_vehicle", headers=headers).get_json()["data"]
    assert fields == []


def test_an_object_key_is_checked_and_unique(client, tenant_a, headers):
    define_vehicle(client, headers)
    for key in ("vehicle", "Bad-Key", "1car", "x" * 31):
        body = {"key": key, "singular": "S", "plural": "P"}
        response = client.post("/api/v1/custom-objects", json=body, headers=headers)
        assert response.status_code == 422, key
        assert response.content_type == "application/problem+json"
    no_plural = client.post(
        "/api/v1/custom-objects", json={"key": "boat", "singular": "Boat"}, headers=headers
    )
    assert no_plural.status_code == 422


def test_a_relation_may_point_at_another_custom_object(client, tenant_a, headers):
    define_vehicle(client, headers)
    _post(client, headers, "/custom-objects", {"key": "garage", "singular": "Garage", "plural": "Garages"})
    _post(
        client, headers, "/custom-fields",
        {"entity": "co_vehicle", "key": "garage", "label": "Garage", "field_type": "reference",
         "reference": "co_garage"},
    )  # fmt: skip
    garage = _post(client, headers, "/objects/garage/records", {"name": "North"})
    vehicle = _post(
        client,
        headers,
        "/objects/vehicle/records",
        {"name": "B-1", "custom_fields": {"garage": garage["id"]}},
    )
    assert vehicle["custom_fields"]["garage"] == garage["id"]
    missing = client.post(
        "/api/v1/objects/vehicle/records",
        json={"name": "B-2", "custom_fields": {"garage": vehicle["id"]}},
        headers=headers,
    )
    assert missing.status_code == 422
    unknown = client.post(
        "/api/v1/custom-fields",
        json={"entity": "co_vehicle", "key": "boat", "label": "Boat", "field_type": "reference",
              "reference": "co_boat"},
        headers=headers,
    )  # fmt: skip
    assert unknown.status_code == 422


def test_reports_group_an_objects_records_and_name_the_records_a_relation_points_at(
    client, tenant_a, tenant_b, headers
):
    define_vehicle(client, headers)
    acme = _post(client, headers, "/accounts", {"name": "Acme"})
    for name, fuel in (("A-1", "diesel"), ("A-2", "diesel"), ("A-3", "petrol")):
        _post(
            client,
            headers,
            "/objects/vehicle/records",
            {"name": name, "custom_fields": {"fuel": fuel, "owner": acme["id"]}},
        )
    by_fuel = client.get("/api/v1/reports?entity=co_vehicle&group_by=cf_fuel", headers=headers)
    assert by_fuel.status_code == 200, by_fuel.get_json()
    assert [(r["group"], r["value"]) for r in by_fuel.get_json()["rows"]] == [
        ("diesel", "2"),
        ("petrol", "1"),
    ]
    by_owner = client.get("/api/v1/reports?entity=co_vehicle&group_by=cf_owner", headers=headers).get_json()
    assert [r["group_label"] for r in by_owner["rows"]] == ["Acme"]
    # Another workspace has no such object: a clear 4xx, nothing of A's counted.
    other = client.get(
        "/api/v1/reports?entity=co_vehicle&group_by=cf_fuel", headers=bearer(make_token(tenant_b))
    )
    assert other.status_code == 422 and other.content_type == "application/problem+json"


def test_a_persons_copy_holds_the_records_related_to_them_and_erasure_clears_the_relation(
    client, tenant_a, headers
):
    from saas.modules.privacy.subject import collect_personal_data, data_subject, erase_subject

    define_vehicle(client, headers)
    _post(
        client, headers, "/custom-fields",
        {"entity": "co_vehicle", "key": "driver", "label": "Driver", "field_type": "reference",
         "reference": "contacts"},
    )  # fmt: skip
    zoe = _post(
        client, headers, "/contacts", {"first_name": "Zoë", "last_name": "Lee", "email": "zoe@example.com"}
    )
    other = _post(client, headers, "/contacts", {"last_name": "Other"})
    hers = _post(
        client,
        headers,
        "/objects/vehicle/records",
        {"name": "Z-OE 1", "custom_fields": {"driver": zoe["id"]}},
    )
    _post(
        client,
        headers,
        "/objects/vehicle/records",
        {"name": "O-TH 2", "custom_fields": {"driver": other["id"]}},
    )
    with tenant_session(tenant_a.ref) as session:
        copy = collect_personal_data(session, uuid.UUID(zoe["id"]))
    related = copy["core"]["related_records"]["co_vehicle"]
    assert [(r["name"], r["relation"]) for r in related] == [("Z-OE 1", "Driver")]
    with tenant_session(tenant_a.ref) as session:
        report = erase_subject(session, data_subject(session, uuid.UUID(zoe["id"])))
    assert report["relations_cleared"] == 1
    kept = client.get(f"/api/v1/objects/vehicle/records/{hers['id']}", headers=headers).get_json()
    assert kept["custom_fields"]["driver"] is None  # the vehicle stays, no longer linked to her
    names = {
        r["name"]: r["custom_fields"]["driver"]
        for r in client.get("/api/v1/objects/vehicle/records", headers=headers).get_json()["data"]
    }
    assert names["O-TH 2"] == other["id"]


def test_a_view_of_an_objects_list_keeps_its_columns_before_any_page_of_it_was_opened(tenant_a):
    # An archive's saved views are checked in a process that may never have served the object's pages.
    from saas.modules.core import objects, saved_views

    with tenant_session(tenant_a.ref) as session:
        objects.define_object(session, {"key": "never_opened", "singular": "Thing", "plural": "Things"})
        view = saved_views.create(
            session,
            uuid.uuid4(),
            {"entity": "co_never_opened", "name": "Newest", "columns": ["name", "created_at"]},
        )
        assert view.columns == ["name", "created_at"]
        with pytest.raises(ValidationError):
            saved_views.clean_columns(session, "co_never_opened", ["name", "plate"])
