"""CSV imports carry the workspace's custom fields: suggested by label or key, validated by type per row
(multi select cells split on ";"), defaults filled, required ones enforced at mapping and per row,
references checked per batch; another workspace's import knows none of them."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import bearer, make_token
from tests.modules.core.test_imports import _csv, _import, _upload


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _define(client, headers, **body) -> None:
    response = client.post("/api/v1/custom-fields", json={"entity": "contacts", **body}, headers=headers)
    assert response.status_code == 201, response.get_json()


def _contacts(client, headers) -> dict[str, dict]:
    body = client.get("/api/v1/contacts?limit=200", headers=headers).get_json()
    return {c["last_name"]: c["custom_fields"] for c in body["data"]}


def test_custom_fields_are_mapped_validated_defaulted_and_imported(client, tenant_a, headers):
    _define(client, headers, key="score", label="Score", field_type="number")
    _define(client, headers, key="region", label="Region", field_type="single_select",
            options=["north", "south"], default_value="north")  # fmt: skip
    _define(client, headers, key="tags", label="Tags", field_type="multi_select", options=["vip", "press"])
    _define(client, headers, key="vip_since", label="VIP since", field_type="date")
    _define(client, headers, key="active", label="Active", field_type="boolean")
    account = client.post("/api/v1/accounts", json={"name": "Acme"}, headers=headers).get_json()
    _define(client, headers, key="billing", label="Billing account", field_type="reference",
            reference="accounts")  # fmt: skip
    header = ["Last name", "Email", "Score", "region", "Tags", "VIP since", "Active", "Billing account"]
    rows = [
        ["Ann", "ann@example.org", "12.5", "south", "vip; press", "2026-01-31", "yes", account["id"]],
        ["Ben", "ben@example.org", "", "", "", "", "", ""],
        ["Cat", "cat@example.org", "lots", "east", "vip;gold", "31/01/2026", "maybe", ""],
        ["Dan", "dan@example.org", "1", "north", "", "", "no", "00000000-0000-4000-8000-000000000000"],
    ]
    job = _import(client, headers, _csv(header, rows))
    assert job["columns"] == {
        "last_name": "Last name", "email": "Email", "cf_score": "Score", "cf_region": "region",
        "cf_tags": "Tags", "cf_vip_since": "VIP since", "cf_active": "Active",
        "cf_billing": "Billing account",
    }  # fmt: skip
    assert (job["imported_rows"], job["error_rows"]) == (2, 2)
    stored = _contacts(client, headers)
    assert stored["Ann"] == {
        "score": "12.5", "region": "south", "tags": ["vip", "press"], "vip_since": "2026-01-31",
        "active": True, "billing": account["id"],
    }  # fmt: skip
    assert stored["Ben"] == {
        "score": None, "region": "north", "tags": None, "vip_since": None, "active": None, "billing": None
    }  # fmt: skip
    assert set(stored) == {"Ann", "Ben"}
    report = list(
        csv.reader(io.StringIO(client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers).text))
    )
    problems = {(row[0], row[1]) for row in report[1:]}
    assert problems == {
        ("4", "Score"), ("4", "region"), ("4", "Tags"), ("4", "VIP since"), ("4", "Active"),
        ("5", "Billing account"),
    }  # fmt: skip
    assert any("no accounts record" in row[2] for row in report[1:])


def test_a_required_custom_field_without_default_must_be_mapped_and_filled(client, tenant_a, headers):
    _define(client, headers, key="segment", label="Segment", field_type="text", required=True)
    refused = _upload(client, headers, _csv(["Last name", "Email"], [["Ann", "ann@example.org"]]))
    assert refused.status_code == 422
    assert "Segment" in refused.get_json()["detail"]
    rows = [["Ann", "ann@example.org", "smb"], ["Ben", "ben@example.org", ""]]
    job = _import(client, headers, _csv(["Last name", "Email", "Segment"], rows))
    assert (job["imported_rows"], job["error_rows"]) == (1, 1)
    assert _contacts(client, headers) == {"Ann": {"segment": "smb"}}


def test_another_workspace_imports_none_of_its_fields(client, tenant_a, tenant_b, headers):
    _define(client, headers, key="score", label="Score", field_type="number")
    b_headers = bearer(make_token(tenant_b))
    job = _import(client, b_headers, _csv(["Last name", "Email", "Score"], [["Bo", "bo@example.org", "3"]]))
    assert "cf_score" not in job["columns"] and job["imported_rows"] == 1
    assert _contacts(client, b_headers) == {"Bo": {}}
    explicit = _upload(
        client, b_headers, _csv(["Last name", "Email", "Score"], [["Bo", "bo2@example.org", "3"]]),
        mapping='{"last_name": 0, "email": 1, "cf_score": 2}',
    )  # fmt: skip
    assert explicit.status_code == 422 and "cf_score" in str(explicit.get_json())
