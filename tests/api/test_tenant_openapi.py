"""Each workspace's own OpenAPI document: its custom fields typed in the record schemas and as ``cf_<key>``
list filters, valid OpenAPI 3.1 that the API really answers to, nothing of another workspace's fields, no
deleted field, the generic document left as it is."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from saas.api import openapi
from saas.db import db, tenant_session
from saas.modules.core import custom_fields
from saas.modules.core.models import CustomField
from saas.modules.switches import set_module_enabled
from tests.api.helpers import scoped_token
from tests.conftest import PASSWORD, bearer, login, make_token

DOCUMENT = "/api/v1/custom-fields/openapi.json"

A_FIELDS = [
    {
        "key": "vip_code",
        "label": "VIP code",
        "field_type": "text",
        "required": True,
        "help_text": "From the CRM",
    },
    {"key": "shoe_size", "label": "Shoe size", "field_type": "number"},
    {"key": "budget", "label": "Budget", "field_type": "currency", "default_value": "100.00"},
    {"key": "since", "label": "Customer since", "field_type": "date"},
    {"key": "newsletter", "label": "Newsletter", "field_type": "boolean"},
    {"key": "colour", "label": "Colour", "field_type": "single_select", "options": ["red", "ochre"]},
    {"key": "tags", "label": "Tags", "field_type": "multi_select", "options": ["press", "partner"]},
    {"key": "homepage", "label": "Homepage", "field_type": "url"},
    {"key": "backup_email", "label": "Backup email", "field_type": "email"},
    {"key": "mobile", "label": "Mobile", "field_type": "phone"},
    {"key": "employer", "label": "Employer", "field_type": "reference", "reference": "accounts"},
    {"key": "biography", "label": "Biography", "field_type": "long_text"},
]


@pytest.fixture
def headers_a(tenant_a):
    return bearer(make_token(tenant_a))


def _define(client, headers, entity: str, **body) -> dict:
    response = client.post("/api/v1/custom-fields", json={"entity": entity, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def a_fields(client, headers_a) -> dict[str, dict]:
    """Tenant A's contact fields of every type, and a select on deals."""
    defined = {body["key"]: _define(client, headers_a, "contacts", **body) for body in A_FIELDS}
    defined["stage_reason"] = _define(
        client, headers_a, "deals", key="stage_reason", label="Why", field_type="single_select",
        options=["price", "timing"],
    )  # fmt: skip
    return defined


def _document(client, headers) -> dict:
    response = client.get(DOCUMENT, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def _operation_schema(document: dict, path: str, method: str, part: str = "request") -> dict:
    """The schema (``$ref`` followed) of an operation's JSON request body or 2xx answer."""
    operation = document["paths"][path][method]
    if part == "request":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        answer = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        schema = answer["content"]["application/json"]["schema"]
    return _follow(document, schema)


def _follow(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for key in schema["$ref"].removeprefix("#/").split("/"):
            node = node[key]
        schema = node
    return schema


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) of ``schema`` within the document."""
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, DRAFT202012))
    reference = schema["$ref"].replace("#", "urn:doc#", 1) if "$ref" in schema else None
    return Draft202012Validator(
        {"$ref": reference} if reference else schema, registry=registry, format_checker=FormatChecker()
    )


def _query_parameters(document: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def test_tenant_document_types_each_custom_field_in_inputs_outputs_and_list_filters(
    client, headers_a, a_fields
):
    document = _document(client, headers_a)

    create = _operation_schema(document, "/api/v1/contacts", "post")["properties"]["custom_fields"]
    assert create["additionalProperties"] is False
    assert create["required"] == ["vip_code"]  # budget is required-free; a required field with a default
    assert "custom_fields" in _operation_schema(document, "/api/v1/contacts", "post")["required"]
    typed = create["properties"]
    assert set(typed) == {body["key"] for body in A_FIELDS}
    assert typed["vip_code"]["type"] == "string" and typed["vip_code"]["maxLength"] == 255
    assert typed["vip_code"]["title"] == "VIP code" and "From the CRM" in typed["vip_code"]["description"]
    assert typed["shoe_size"]["type"] == ["string", "number", "null"]
    assert typed["shoe_size"]["format"] == "decimal"
    assert typed["budget"]["default"] == "100.00"
    assert typed["since"] == typed["since"] | {"type": ["string", "null"], "format": "date"}
    assert typed["newsletter"]["type"] == ["boolean", "null"]
    assert typed["colour"]["enum"] == ["red", "ochre", None]
    assert typed["tags"]["type"] == ["array", "null"] and typed["tags"]["items"]["enum"] == [
        "press",
        "partner",
    ]
    assert typed["homepage"]["format"] == "uri" and typed["backup_email"]["format"] == "email"
    assert typed["mobile"]["pattern"] == "^[0-9+()./ -]+$"
    assert typed["employer"]["format"] == "uuid" and "accounts" in typed["employer"]["description"]
    assert typed["biography"]["maxLength"] == 100_000

    update = _operation_schema(document, "/api/v1/contacts/{record_id}", "patch")["properties"][
        "custom_fields"
    ]
    assert update["additionalProperties"] is False and "required" not in update
    assert set(update["properties"]) == set(typed)

    single = _operation_schema(document, "/api/v1/contacts/{record_id}", "get", "response")
    page = _operation_schema(document, "/api/v1/contacts", "get", "response")
    listed = _follow(document, page["properties"]["data"]["items"])
    for output in (single, listed):
        values = output["properties"]["custom_fields"]["properties"]
        assert values["shoe_size"]["type"] == ["string", "null"]  # sent as an exact decimal string
        assert values["vip_code"]["type"] == ["string", "null"]  # old records may lack a required value

    parameters = _query_parameters(document, "/api/v1/contacts")
    assert "custom" not in parameters  # the generic placeholder no client can send
    assert {f"cf_{body['key']}" for body in A_FIELDS} <= set(parameters)
    assert parameters["cf_colour"]["schema"]["enum"] == ["red", "ochre"]
    assert parameters["cf_tags"]["schema"] == parameters["cf_tags"]["schema"] | {"type": "string"}
    assert "contains" in parameters["cf_tags"]["schema"]["description"]
    assert parameters["cf_since"]["schema"]["format"] == "date"
    deals = _operation_schema(document, "/api/v1/deals", "post")["properties"]["custom_fields"]
    assert set(deals["properties"]) == {"stage_reason"}
    assert "cf_stage_reason" in _query_parameters(document, "/api/v1/deals")
    assert "cf_colour" not in _query_parameters(document, "/api/v1/deals")
    accounts = _operation_schema(document, "/api/v1/accounts", "post")["properties"]["custom_fields"]
    assert accounts["properties"] == {} and accounts["additionalProperties"] is False


def test_the_api_answers_as_the_tenant_document_says(client, headers_a, a_fields):
    document = _document(client, headers_a)
    account = client.post("/api/v1/accounts", json={"name": "Initech"}, headers=headers_a).get_json()
    body = {
        "last_name": "Typed",
        "custom_fields": {
            "vip_code": "X1", "shoe_size": "42.5", "budget": 12, "since": "2020-02-29", "newsletter": True,
            "colour": "ochre",
            "tags": ["press"], "homepage": "https://example.com", "backup_email": "b@example.com",
            "mobile": "+44 (0)20 1234", "employer": account["id"], "biography": "Long " * 50,
        },
    }  # fmt: skip
    request_schema = document["paths"]["/api/v1/contacts"]["post"]["requestBody"]["content"]
    _validator(document, request_schema["application/json"]["schema"]).validate(body)
    created = client.post("/api/v1/contacts", json=body, headers=headers_a)
    assert created.status_code == 201, created.get_json()
    answer_schema = document["paths"]["/api/v1/contacts"]["post"]["responses"]["201"]["content"]
    _validator(document, answer_schema["application/json"]["schema"]).validate(created.get_json())
    assert created.get_json()["custom_fields"]["budget"] == "12.00"
    defaulted = client.post(
        "/api/v1/contacts", json={"last_name": "D", "custom_fields": {"vip_code": "Y"}}, headers=headers_a
    )
    assert defaulted.get_json()["custom_fields"]["budget"] == "100.00"  # the documented default

    listed = client.get("/api/v1/contacts?cf_colour=ochre&cf_tags=press", headers=headers_a)
    page_schema = document["paths"]["/api/v1/contacts"]["get"]["responses"]["200"]["content"]
    _validator(document, page_schema["application/json"]["schema"]).validate(listed.get_json())
    assert [c["id"] for c in listed.get_json()["data"]] == [created.get_json()["id"]]

    # What the document refuses, the API refuses: a missing required field, an unknown key, a bad choice.
    create_validator = _validator(document, request_schema["application/json"]["schema"])
    for refused in (
        {"last_name": "No", "custom_fields": {"shoe_size": 1}},
        {"last_name": "No", "custom_fields": {"vip_code": "X", "nope": 1}},
        {"last_name": "No", "custom_fields": {"vip_code": "X", "colour": "blue"}},
        {"last_name": "No", "custom_fields": {"vip_code": "X", "shoe_size": "big"}},
    ):
        assert not create_validator.is_valid(refused)
        assert client.post("/api/v1/contacts", json=refused, headers=headers_a).status_code == 422


def test_tenant_document_is_valid_openapi_3_1(client, headers_a, a_fields, tenant_a):
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    document = _document(client, headers_a)
    assert document["openapi"].startswith("3.1")
    validate_openapi(document)  # the OpenAPI 3.1 meta-schema, $refs resolving, path parameters declared
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # each schema is valid JSON Schema 2020-12
    assert document["info"]["x-workspace"]["slug"] == tenant_a.slug


def test_tenant_b_document_has_none_of_tenant_a_fields_through_the_api_or_the_page(
    client, headers_a, a_fields, tenant_a, tenant_b
):
    with tenant_session(tenant_b.ref) as session:
        custom_fields.define_field(
            session, "contacts", {"key": "b_only", "label": "B only", "field_type": "text"}
        )
        db.session.commit()
    from_api = client.get(DOCUMENT, headers=bearer(make_token(tenant_b)))
    assert from_api.status_code == 200
    login(client, tenant_b.email, PASSWORD)
    from_page = client.get(f"/t/{tenant_b.slug}/api/openapi.json")
    assert from_page.status_code == 200
    assert from_page.get_json() == from_api.get_json()
    reference = client.get(f"/t/{tenant_b.slug}/api/docs")
    assert reference.status_code == 200 and "b_only" in reference.text
    for answer in (from_api.get_data(as_text=True), from_page.get_data(as_text=True), reference.text):
        for leaked in ("vip_code", "VIP code", "shoe_size", "ochre", "stage_reason", "From the CRM"):
            assert leaked not in answer
    typed = _operation_schema(from_api.get_json(), "/api/v1/contacts", "post")["properties"]["custom_fields"]
    assert set(typed["properties"]) == {"b_only"}
    # B's member cannot ask for A's document by A's slug.
    assert client.get(f"/t/{tenant_a.slug}/api/openapi.json").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/api/docs").status_code == 404


def test_a_member_reads_the_document_and_the_reference_page(client, app, a_fields, tenant_a, headers_a):
    from saas.auth.services import add_member

    add_member(db.session, tenant_a.tenant.id, "reader@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, "reader@example.com", PASSWORD)
    page = client.get(f"/t/{tenant_a.slug}/api/openapi.json")
    assert page.status_code == 200
    assert page.get_json() == _document(client, headers_a)
    reference = client.get(f"/t/{tenant_a.slug}/api/docs")
    assert reference.status_code == 200
    assert (
        "VIP code" in reference.text and "cf_vip_code" in reference.text and "From the CRM" in reference.text
    )


def test_a_deleted_field_leaves_the_document_and_comes_back_when_restored(client, headers_a, a_fields):
    field_id = a_fields["colour"]["id"]
    assert client.delete(f"/api/v1/custom-fields/{field_id}", headers=headers_a).status_code == 200
    document = _document(client, headers_a)
    assert (
        "colour"
        not in _operation_schema(document, "/api/v1/contacts", "post")["properties"]["custom_fields"][
            "properties"
        ]
    )
    assert "cf_colour" not in _query_parameters(document, "/api/v1/contacts")
    assert "ochre" not in json.dumps(document)
    assert client.post(f"/api/v1/custom-fields/{field_id}/restore", headers=headers_a).status_code == 200
    assert "cf_colour" in _query_parameters(_document(client, headers_a), "/api/v1/contacts")


def test_the_document_needs_a_token_with_the_custom_fields_read_scope(client, tenant_a, a_fields):
    for headers in ({}, bearer("crm_not-a-token")):
        refused = client.get(DOCUMENT, headers=headers)
        assert refused.status_code == 401
        assert refused.mimetype == "application/problem+json"
        assert "vip_code" not in refused.get_data(as_text=True)
    lacking = client.get(DOCUMENT, headers=bearer(scoped_token(tenant_a, ["contacts:read"])))
    assert lacking.status_code == 403 and lacking.json["required_scope"] == "custom-fields:read"
    reader_headers = bearer(scoped_token(tenant_a, ["custom-fields:read"]))
    reader = client.get(DOCUMENT, headers=reader_headers)
    assert reader.status_code == 200 and "vip_code" in reader.get_data(as_text=True)
    unchanged = client.get(DOCUMENT, headers={**reader_headers, "If-None-Match": reader.headers["ETag"]})
    assert unchanged.status_code == 304  # a client polls for field changes cheaply
    signed_out = client.get(f"/t/{tenant_a.slug}/api/openapi.json")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]


def test_the_generic_document_is_left_unchanged(client, headers_a, a_fields):
    before = client.get("/api/v1/openapi.json").get_json()
    _document(client, headers_a)
    after = client.get("/api/v1/openapi.json").get_json()
    assert after == before
    text = json.dumps(after)
    assert "vip_code" not in text and "cf_colour" not in text
    reference = client.get("/api/v1/docs")  # the public reference: generic, pointing to the workspace's
    assert reference.status_code == 200 and DOCUMENT in reference.text and "vip_code" not in reference.text
    generic = _operation_schema(after, "/api/v1/contacts", "post")["properties"]["custom_fields"]
    assert "properties" not in generic  # still free-form: every workspace defines its own
    assert "custom" not in _query_parameters(after, "/api/v1/contacts")  # no client could send it


def test_a_switched_off_module_is_said_on_its_operations(client, headers_a, tenant_a, tenant_b):
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    document = _document(client, headers_a)
    deals = document["paths"]["/api/v1/deals"]["get"]
    assert deals["x-module-switched-off"] == "sfa" and "switched off" in deals["description"]
    assert "/api/v1/deals" in document["paths"]  # listed as in the generic document
    assert "x-module-switched-off" not in document["paths"]["/api/v1/contacts"]["get"]
    other = _document(client, bearer(make_token(tenant_b)))
    assert "x-module-switched-off" not in other["paths"]["/api/v1/deals"]["get"]


def test_every_record_type_whose_schemas_take_custom_fields_is_typed(app, client, headers_a):
    """Found through its operations, so a record type (tickets) whose schemas gain ``custom_fields`` is
    covered without naming its schemas here."""
    generic = openapi.generic_document(app)
    typed_entities = {record.entity for record in generic.record_types}
    assert {"contacts", "accounts", "leads", "deals"} <= typed_entities
    for entity in typed_entities:
        _define(client, headers_a, entity, key=f"only_{entity}", label=f"Only {entity}", field_type="text")
    document = _document(client, headers_a)
    for record in generic.record_types:
        for pointer in (*record.create_inputs, *record.update_inputs, *record.outputs):
            schema = openapi._resolve(document, pointer)
            assert set(schema["properties"]["custom_fields"]["properties"]) == {f"only_{record.entity}"}
        for pointer in record.list_operations:
            names = {p["name"] for p in openapi._resolve(document, pointer)["parameters"]}
            assert f"cf_only_{record.entity}" in names


def test_a_sort_parameter_offers_the_sortable_custom_fields():
    """A list with a ``sort`` parameter (enum or free text) gains ``cf_<key>``/``-cf_<key>`` of every
    type a column sorts by, not long texts or multi selects."""
    definitions = [
        CustomField(entity="contacts", column_name="cf_size", label="Size", field_type="number", options=[]),
        CustomField(entity="contacts", column_name="cf_bio", label="Bio", field_type="long_text", options=[]),
        CustomField(
            entity="contacts", column_name="cf_tags", label="Tags", field_type="multi_select", options=["a"]
        ),
    ]
    for definition in definitions:
        definition.required, definition.default_value, definition.help_text = False, None, None
    listed = {"parameters": [{"in": "query", "name": "sort", "schema": {"type": "string", "enum": ["name"]}}]}
    openapi._add_filters(listed, definitions)
    sort = next(p for p in listed["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == ["name", "cf_size", "-cf_size"]
    assert "`-cf_size`" in sort["description"] and "cf_bio" not in sort["description"]
    free = {"parameters": [{"in": "query", "name": "sort", "schema": {"type": "string"}}]}
    openapi._add_filters(free, definitions)
    assert (
        "enum" not in free["parameters"][0]["schema"] and "`cf_size`" in free["parameters"][0]["description"]
    )


def test_each_custom_object_has_its_own_typed_paths_the_api_answers_to(client, headers_a, tenant_b):
    client.post(
        "/api/v1/custom-objects", json={"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles"},
        headers=headers_a,
    )  # fmt: skip
    _define(client, headers_a, "co_vehicle", key="fuel", label="Fuel", field_type="single_select",
            options=["petrol", "diesel"], required=True)  # fmt: skip
    document = _document(client, headers_a)
    validate_openapi(document)
    collection = document["paths"]["/api/v1/objects/vehicle/records"]
    assert collection["post"]["operationId"] == "create_vehicle_record"
    assert {p["name"] for p in collection["get"]["parameters"]} >= {"q", "cf_fuel"}
    request_schema = collection["post"]["requestBody"]["content"]["application/json"]["schema"]
    good = {"name": "B-XY 1", "custom_fields": {"fuel": "diesel"}}
    validator = _validator(document, request_schema)
    validator.validate(good)
    for refused in (
        {"name": "B-XY 2", "custom_fields": {"fuel": "coal"}},
        {"name": "B-XY 3", "custom_fields": {}},
    ):
        assert not validator.is_valid(refused)
        assert (
            client.post("/api/v1/objects/vehicle/records", json=refused, headers=headers_a).status_code == 422
        )
    created = client.post("/api/v1/objects/vehicle/records", json=good, headers=headers_a)
    assert created.status_code == 201
    answer = collection["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    _validator(document, answer).validate(created.get_json())
    # Another workspace's document has no vehicles.
    other = _document(client, bearer(make_token(tenant_b)))
    assert "/api/v1/objects/vehicle/records" not in other["paths"]
