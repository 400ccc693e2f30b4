"""``/api/v1/custom-fields``: the workspace's custom fields (members read; owners and admins change them)."""

from __future__ import annotations

import uuid

from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.modules.core import custom_fields
from saas.modules.core.blueprints import api
from saas.modules.core.schemas import list_of
from saas.modules.core.views.merge import admin_change_session
from saas.tenants.routing import current_tenant_session


class CustomFieldChange(Schema):
    class Meta:
        unknown = RAISE

    label = fields.String(validate=validate.Length(min=1, max=100))
    field_type = fields.String(validate=validate.OneOf(tuple(custom_fields.TYPES)))
    required = fields.Boolean()
    default_value = fields.Raw(allow_none=True)
    help_text = fields.String(allow_none=True, validate=validate.Length(max=300))
    options = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=200)
    )
    position = fields.Integer(validate=validate.Range(min=0, max=10_000))


class CustomFieldIn(CustomFieldChange):
    entity = fields.String(
        required=True, metadata={"description": "contacts, accounts, leads, deals or tickets"}
    )
    key = fields.String(
        required=True,
        metadata={"description": "Lowercase name of the field in the API (the column is cf_<key>)."},
    )
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    field_type = fields.String(required=True, validate=validate.OneOf(tuple(custom_fields.TYPES)))
    reference = fields.String(allow_none=True, metadata={"description": "A reference's record type."})


class CustomFieldOut(Schema):
    id = fields.UUID()
    entity = fields.String()
    key = fields.Function(custom_fields.key_of)
    column_name = fields.String()
    label = fields.String()
    field_type = fields.String()
    required = fields.Boolean()
    default_value = fields.Raw(allow_none=True)
    help_text = fields.String(allow_none=True)
    options = fields.List(fields.String())
    reference = fields.String(allow_none=True)
    position = fields.Integer()
    deleted_at = fields.DateTime(allow_none=True)


class CustomFieldQuery(Schema):
    class Meta:
        unknown = RAISE

    entity = fields.String(load_default=None)
    deleted = fields.Boolean(
        load_default=False, metadata={"description": "List deleted fields awaiting a purge."}
    )


CustomFieldList = list_of(CustomFieldOut)


@api.get("/custom-fields")
@api.auth_required(token_auth)
@api.input(CustomFieldQuery, location="query")
@api.output(CustomFieldList)
@api.doc(summary="List custom fields")
def list_custom_fields(query_data):
    session = current_tenant_session()
    return {"data": custom_fields.list_fields(session, query_data["entity"], deleted=query_data["deleted"])}


@api.post("/custom-fields")
@api.auth_required(token_auth)
@api.input(CustomFieldIn)
@api.output(CustomFieldOut, status_code=201)
@api.doc(
    summary="Add a custom field",
    description="Owners and admins. Adds a typed, indexed column.",
    responses=[403, 404, 422],
)
def create_custom_field(json_data):
    session = admin_change_session()
    return custom_fields.define_field(session, json_data.pop("entity"), json_data)


@api.get("/custom-fields/<uuid:custom_field_id>")
@api.auth_required(token_auth)
@api.output(CustomFieldOut)
@api.doc(summary="Read a custom field", responses=[404])
def read_custom_field(custom_field_id: uuid.UUID):
    return custom_fields.get_field(current_tenant_session(), custom_field_id)


@api.patch("/custom-fields/<uuid:custom_field_id>")
@api.auth_required(token_auth)
@api.input(CustomFieldChange)
@api.output(CustomFieldOut)
@api.doc(
    summary="Change a custom field",
    description="Relabel, describe, re-order, change choices or default; change the type only where "
    "no value is lost.",
    responses=[403, 404, 409, 422],
)
def update_custom_field(custom_field_id: uuid.UUID, json_data):
    return custom_fields.update_field(admin_change_session(), custom_field_id, json_data)


@api.delete("/custom-fields/<uuid:custom_field_id>")
@api.auth_required(token_auth)
@api.output(CustomFieldOut)
@api.doc(
    summary="Delete a custom field",
    description="Hidden at once; the data stays until a purge.",
    responses=[403, 404],
)
def delete_custom_field(custom_field_id: uuid.UUID):
    return custom_fields.delete_field(admin_change_session(), custom_field_id)


@api.post("/custom-fields/<uuid:custom_field_id>/restore")
@api.auth_required(token_auth)
@api.output(CustomFieldOut)
@api.doc(summary="Restore a deleted custom field", responses=[403, 404])
def restore_custom_field(custom_field_id: uuid.UUID):
    return custom_fields.restore_field(admin_change_session(), custom_field_id)


@api.post("/custom-fields/<uuid:custom_field_id>/purge")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(
    summary="Purge a deleted custom field",
    description="Drops its column and values.",
    responses=[403, 404, 409],
)
def purge_custom_field(custom_field_id: uuid.UUID):
    custom_fields.purge_field(admin_change_session(), custom_field_id)
    return ""
