"""The API contract integrators generate clients from: problem answers on every operation, the
conventions' headers, stable operation ids, each schema once, and no unannounced breaking change
against the previous release's document.

Stored on purpose (see docs/api.md, "Versioning"):

- ``tests/api/contract/operation_ids.txt`` — after adding an endpoint:
  ``UPDATE_OPERATION_IDS=1 .venv/bin/pytest -q tests/api/test_contract.py -k operation_ids``
- ``tests/api/contract/openapi-previous-release.json`` — when releasing:
  ``UPDATE_RELEASE_DOCUMENT=1 .venv/bin/pytest -q tests/api/test_contract.py -k previous_release``
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from datetime import date
from pathlib import Path

import pytest
from apiflask import APIFlask
from jsonschema import Draft202012Validator

from saas.api.contract import PROBLEM_MEDIA_TYPE, announce_deprecation, deprecated, describe_contract
from tests.api.contract_diff import breaking_changes
from tests.conftest import bearer, make_token

STORED = Path(__file__).parent / "contract"
OPERATION_IDS = STORED / "operation_ids.txt"
PREVIOUS_RELEASE = STORED / "openapi-previous-release.json"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document(app) -> dict:
    with app.test_client() as http:
        return http.get("/api/v1/openapi.json").get_json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _problem_validator(document: dict) -> Draft202012Validator:
    return Draft202012Validator(document["components"]["schemas"]["Problem"])


def test_building_the_document_adds_no_schema_twice(app):
    with app.app_context(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rebuilt = app.spec  # a fresh build, as at the first request of a process
    twice = [str(w.message) for w in caught if "has already been added" in str(w.message)]
    assert twice == []
    names = set(rebuilt["components"]["schemas"])
    assert not [name for name in names if name[-1].isdigit() and name.rstrip("0123456789") in names]
    assert not {"HTTPError", "ValidationError"} & names  # apiflask's defaults, not what the API sends


def test_every_error_answer_is_a_problem_document(document):
    required = {"401", "403", "422", "429"}
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert operation["security"], where
        codes = set(operation["responses"])
        assert required <= codes, (where, required - codes)
        for code, answer in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert answer["content"] == {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (where, code)
        if "requestBody" in operation:
            assert operation["requestBody"]["required"] is True, where
            assert {"400", "413"} <= codes, where
        if "{" in path:
            assert "404" in codes, where
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"instance", "errors"} <= set(problem["properties"])
    assert problem["properties"]["detail"]["type"] == "string"


def test_conventions_headers_are_declared_where_the_server_honours_them(document):
    paths = document["paths"]
    update = paths["/api/v1/contacts/{record_id}"]["patch"]
    assert "If-Match" in {p["name"] for p in update["parameters"] if p["in"] == "header"}
    assert "412" in update["responses"]
    assert "ETag" in paths["/api/v1/contacts/{record_id}"]["get"]["responses"]["200"]["headers"]
    assert "Retry-After" in update["responses"]["429"]["headers"]
    for path, method, operation in _operations(document):
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) == (method == "post"), (method, path)
        # If-Match is compared with the ETag of the same URL's GET: no GET, no If-Match, no 412.
        honoured = method in ("put", "patch", "delete") and "get" in paths[path]
        assert ("If-Match" in headers) == honoured, (method, path)
        assert ("412" in operation["responses"]) == honoured, (method, path)
        if method == "get" and "application/json" in operation["responses"].get("200", {}).get("content", {}):
            assert "ETag" in operation["responses"]["200"]["headers"], path
    moved = paths["/api/v1/deals/{deal_id}/move"]["post"]["responses"]
    assert "402" in moved and "409" in moved  # a lapsed workspace; a key still in flight


def test_answer_schemas_mark_the_fields_always_sent_as_required(document):
    schemas = document["components"]["schemas"]
    assert set(schemas["ContactOut"]["required"]) == set(schemas["ContactOut"]["properties"]) - {
        "possible_duplicates"  # single-record answers only
    }
    assert schemas["ContactPage"]["required"] == ["data", "next_cursor"]
    assert schemas["ContactIn"].get("required", []) == []  # inputs keep their own
    assert schemas["AccountIn"]["required"] == ["name"]


def test_the_generic_list_filter_placeholder_is_gone(document):
    for path, _method, operation in _operations(document):
        assert "custom" not in {p["name"] for p in operation["parameters"] if p["in"] == "query"}, path


def test_error_answers_match_the_documented_problem(client, tenant_a, document):
    problem = _problem_validator(document)
    headers = bearer(make_token(tenant_a))
    answers = {
        401: client.get("/api/v1/contacts"),
        404: client.get("/api/v1/contacts/00000000-0000-0000-0000-000000000000", headers=headers),
        422: client.post("/api/v1/accounts", json={"name": ""}, headers=headers),
        400: client.post("/api/v1/accounts", data="{", content_type="application/json", headers=headers),
    }
    created = client.post("/api/v1/accounts", json={"name": "Initech"}, headers=headers).get_json()
    answers[412] = client.patch(
        f"/api/v1/accounts/{created['id']}", json={"name": "X"}, headers={**headers, "If-Match": '"stale"'}
    )
    for status, response in answers.items():
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.mimetype == PROBLEM_MEDIA_TYPE
        problem.validate(response.get_json())
    assert answers[422].get_json()["errors"]["name"]


def _operation_lines(document: dict) -> list[str]:
    operations = _operations(document)
    return sorted(f"{op['operationId']} {method.upper()} {path}" for path, method, op in operations)


def test_operation_ids_are_unique_and_stable(document):
    lines = _operation_lines(document)
    ids = [line.split()[0] for line in lines]
    assert len(ids) == len(set(ids)), "two operations share an operationId"
    if os.environ.get("UPDATE_OPERATION_IDS"):
        OPERATION_IDS.write_text("\n".join(lines) + "\n")
    stored = OPERATION_IDS.read_text().splitlines()
    hint = (
        "\nAdded an endpoint on purpose? Regenerate the list and commit it:\n"
        "  UPDATE_OPERATION_IDS=1 .venv/bin/pytest -q tests/api/test_contract.py -k operation_ids\n"
        "A changed or vanished id renames a function in every generated client: keep the old one "
        "(@doc(operation_id=...)) unless the change is announced (docs/api.md, Versioning)."
    )
    assert sorted(set(lines) - set(stored)) == [], "operations not in the stored list" + hint
    assert sorted(set(stored) - set(lines)) == [], "stored operations that changed or disappeared" + hint


def test_no_unannounced_breaking_change_since_the_previous_release(document):
    if os.environ.get("UPDATE_RELEASE_DOCUMENT"):
        PREVIOUS_RELEASE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    previous = json.loads(PREVIOUS_RELEASE.read_text())
    unannounced = [str(change) for change in breaking_changes(previous, document) if not change.announced]
    assert unannounced == [], (
        "Breaking changes against the previous release's document (see docs/api.md, Versioning): "
        "deprecate first, ship, then remove in the next major version.\n" + "\n".join(unannounced)
    )


def test_the_breaking_change_check_sees_each_kind_of_break(document):
    schemas = document["components"]["schemas"]
    assert breaking_changes(document, document) == []

    removed = copy.deepcopy(document)
    del removed["paths"]["/api/v1/contacts/{record_id}"]["delete"]
    del removed["components"]["schemas"]["ContactOut"]["properties"]["email"]
    retyped = copy.deepcopy(document)
    retyped["components"]["schemas"]["AccountOut"]["properties"]["name"]["type"] = "integer"
    stricter = copy.deepcopy(document)
    stricter["components"]["schemas"]["ContactIn"]["required"] = ["email"]
    found = {
        str(change)
        for changed in (removed, retyped, stricter)
        for change in breaking_changes(document, changed)
    }
    assert "DELETE /api/v1/contacts/{record_id}: operation removed" in found
    assert "GET /api/v1/contacts/{record_id} 200.email: field removed from the answer" in found
    assert "GET /api/v1/accounts/{record_id} 200.name: answer type ['string'] became ['integer']" in found
    assert "POST /api/v1/contacts.email: field became required in the request" in found

    announced = copy.deepcopy(document)
    announced["paths"]["/api/v1/contacts/{record_id}"]["delete"]["deprecated"] = True
    announced["components"]["schemas"]["ContactOut"]["properties"]["email"]["deprecated"] = True
    assert all(change.announced for change in breaking_changes(announced, removed))
    assert schemas["ContactOut"]["properties"]["email"].get("deprecated") is None  # the original is intact


def test_a_deprecated_operation_announces_its_sunset_in_headers_and_document():
    # A bare app: no operation of ours is deprecated today, and routes cannot join the suite's app.
    app = APIFlask(__name__, title="t", version="1")
    app.after_request(announce_deprecation)

    @app.get("/old")
    @app.doc(deprecated=True)
    @deprecated(since=date(2026, 1, 1), sunset=date(2026, 7, 1))
    def old():
        return {"ok": True}

    @app.get("/current")
    def current():
        return {"ok": True}

    with app.test_client() as http:
        answer, other = http.get("/old"), http.get("/current")
        document = describe_contract(app, app.spec)
    assert answer.headers["Deprecation"] == "@1767225600"
    assert answer.headers["Sunset"] == "Wed, 01 Jul 2026 00:00:00 GMT"
    assert "Deprecation" not in other.headers and "Sunset" not in other.headers
    operation = document["paths"]["/old"]["get"]
    assert operation["deprecated"] is True and operation["x-sunset"] == "2026-07-01"
    assert {"Deprecation", "Sunset"} <= set(operation["responses"]["200"]["headers"])
    assert "deprecated" not in document["paths"]["/current"]["get"]
