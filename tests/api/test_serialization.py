"""Compiled dumps of the API's page schemas: byte for byte what marshmallow's own dump returns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from marshmallow import Schema, fields, post_dump

from saas.api.serialization import CompiledDumpSchema, compile_dump
from saas.db import tenant_session
from saas.modules.core import custom_fields, schemas, services
from saas.modules.core.services import Page


def _marshmallow_dump(schema: Schema, obj, many: bool | None = None):
    """The dump marshmallow itself does, bypassing the compiled plan."""
    return Schema.dump(schema, obj, many=many)


class Inner(Schema):
    id = fields.UUID()
    tags = fields.List(fields.String())


SHAPES = {
    "id": fields.UUID(),
    "name": fields.String(allow_none=True),
    "renamed": fields.String(attribute="original"),
    "shown_as": fields.String(data_key="shownAs"),
    "count": fields.Integer(),
    "ratio": fields.Float(),
    "flag": fields.Boolean(),
    "at": fields.DateTime(),
    "day": fields.Date(),
    "stamp": fields.DateTime(format="timestamp"),
    "fixed": fields.String(dump_default="fallback"),
    "extra": fields.Dict(),
    "typed": fields.Dict(keys=fields.String(), values=fields.Integer()),
    "inner": fields.Nested(Inner, allow_none=True),
    "inners": fields.List(fields.Nested(Inner)),
    "many_inner": fields.Nested(Inner, many=True),
    "computed": fields.Method("compute"),
    "const": fields.Constant("always"),
    "dotted": fields.String(attribute="inner.id"),
}


def _compute(obj) -> str:
    return f"computed {obj.get('name') if isinstance(obj, dict) else getattr(obj, 'name', None)}"


class Plain(Schema.from_dict(SHAPES)):
    def compute(self, obj):
        return _compute(obj)


class Compiled(CompiledDumpSchema.from_dict(SHAPES)):
    def compute(self, obj):
        return _compute(obj)


def _objects() -> list:
    inner = SimpleNamespace(id=uuid.uuid4(), tags=["a", b"b", None])
    full = {
        "id": uuid.uuid4(), "name": "Ada", "original": "was", "shown_as": "x", "count": 3, "ratio": 0.5,
        "flag": True, "at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "day": datetime(2026, 1, 2).date(),
        "stamp": datetime(2026, 1, 2, tzinfo=UTC), "fixed": "given", "extra": {"k": [1, 2]},
        "typed": {"n": "4"}, "inner": inner, "inners": [inner, None, inner], "many_inner": [inner],
    }  # fmt: skip
    sparse = {"id": None, "name": None, "inner": None, "inners": [], "count": None}
    return [SimpleNamespace(**full), full, SimpleNamespace(**sparse), sparse, {}]


def test_compiled_dump_equals_marshmallow_for_every_field_shape():
    plain, compiled, objects = Plain(), Compiled(), _objects()
    for obj in objects:
        assert compiled.dump(obj) == plain.dump(obj)
    assert compiled.dump(objects, many=True) == plain.dump(objects, many=True)
    assert compiled.dump(None, many=True) == plain.dump(None, many=True)


def test_schema_with_dump_hooks_keeps_marshmallows_path():
    class Hooked(CompiledDumpSchema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    assert compile_dump(Hooked()) is None
    assert Hooked().dump({"name": "ada"}) == {"name": "ADA"}


def test_contact_and_account_pages_dump_as_marshmallow_does(tenant_a):
    """Real rows, with custom values and empty columns, through each record page schema."""
    with tenant_session(tenant_a.ref) as session:
        size = {"key": "shoe_size", "label": "Shoe size", "field_type": "number"}
        custom_fields.define_field(session, "contacts", size)
        tier = {"key": "tier", "label": "Tier", "field_type": "text"}
        custom_fields.define_field(session, "accounts", tier)
    with tenant_session(tenant_a.ref) as session:
        account = services.accounts.create(session, {"name": "Analytical Engines", "domain": "ae.example"})
        ada = services.contacts.create(session, {"first_name": "Ada", "account_id": account.id})
        custom_fields.write_values(session, "contacts", ada.id, {"shoe_size": "38.5"}, creating=True)
        services.contacts.create(session, {"last_name": "Hopper"})
        for service, entity, schema in (
            (services.contacts, "contacts", schemas.ContactPage()),
            (services.accounts, "accounts", schemas.AccountPage()),
        ):
            page: Page = service.list(session, limit=50)
            custom_fields.annotate(session, entity, page.data)
            body = {"data": page.data, "next_cursor": page.next_cursor}
            assert isinstance(schema, CompiledDumpSchema) and compile_dump(schema) is not None
            compiled = schema.dump(body)
            assert compiled == _marshmallow_dump(schema, body)
            assert compiled["data"] and all("custom_fields" in row for row in compiled["data"])
