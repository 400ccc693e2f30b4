"""``/api/v1/custom-objects`` (the workspace's own record types; owners and admins change them) and
``/api/v1/objects/<key>/records`` (their records, as contacts' API: cursor pages, ``q``, ``sort``,
``cf_<key>`` filters). The workspace's own OpenAPI document types each object's records."""

from __future__ import annotations

import uuid

from apiflask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.modules.core import custom_fields, objects, schemas
from saas.modules.core.api.records import api, services_page
from saas.modules.core.schemas import list_of, page_of
from saas.modules.core.views.merge import admin_change_session
from saas.tenants.routing import current_tenant_session


class CustomObjectChange(Schema):
    class Meta:
        unknown = RAISE

    singular = fields.String(validate=validate.Length(min=1, max=60), metadata={"example": "Vehicle"})
    plural = fields.String(validate=validate.Length(min=1, max=60), metadata={"example": "Vehicles"})
    name_label = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The label of the primary display field (`name` in the API).",
                  "example": "Plate number"},
    )  # fmt: skip
    description = fields.String(allow_none=True, validate=validate.Length(max=300))
    icon = fields.String(validate=validate.OneOf(objects.ICONS))


class CustomObjectIn(CustomObjectChange):
    key = fields.String(
        required=True,
        metadata={"description": "Lowercase letters and `_`: the object's name in URLs; its table is "
                  "`co_<key>`.", "example": "vehicle"},
    )  # fmt: skip
    singular = fields.String(required=True, validate=validate.Length(min=1, max=60))
    plural = fields.String(required=True, validate=validate.Length(min=1, max=60))


class CustomObjectOut(Schema):
    id = fields.UUID()
    key = fields.String()
    table_name = fields.String(metadata={"description": "Its record type in custom fields, views, reports."})
    singular = fields.String()
    plural = fields.String()
    name_label = fields.String()
    description = fields.String(allow_none=True)
    icon = fields.String()
    created_at = fields.DateTime()
    deleted_at = fields.DateTime(allow_none=True)


class CustomObjectQuery(Schema):
    class Meta:
        unknown = RAISE

    deleted = fields.Boolean(
        load_default=False, metadata={"description": "List deleted objects awaiting a purge."}
    )


@api.get("/custom-objects")
@api.auth_required(token_auth)
@api.input(CustomObjectQuery, location="query")
@api.output(list_of(CustomObjectOut))
@api.doc(summary="List custom objects")
def list_custom_objects(query_data):
    return {"data": objects.list_objects(current_tenant_session(), deleted=query_data["deleted"])}


@api.post("/custom-objects")
@api.auth_required(token_auth)
@api.input(CustomObjectIn)
@api.output(CustomObjectOut, status_code=201)
@api.doc(
    summary="Define a custom object",
    description="Owners and admins. Creates the records' table; add fields and relations with "
    "`POST /custom-fields` on entity `co_<key>` (a relation is a `reference` field).",
    responses=[403, 422],
)
def create_custom_object(json_data):
    return objects.define_object(admin_change_session(), json_data)


@api.get("/custom-objects/<uuid:custom_object_id>")
@api.auth_required(token_auth)
@api.output(CustomObjectOut)
@api.doc(summary="Read a custom object", responses=[404])
def read_custom_object(custom_object_id: uuid.UUID):
    return objects.get_object(current_tenant_session(), custom_object_id)


@api.patch("/custom-objects/<uuid:custom_object_id>")
@api.auth_required(token_auth)
@api.input(CustomObjectChange)
@api.output(CustomObjectOut)
@api.doc(summary="Change a custom object", description="Names, description, icon.", responses=[403, 404, 422])
def update_custom_object(custom_object_id: uuid.UUID, json_data):
    return objects.update_object(admin_change_session(), custom_object_id, json_data)


@api.delete("/custom-objects/<uuid:custom_object_id>")
@api.auth_required(token_auth)
@api.output(CustomObjectOut)
@api.doc(
    summary="Delete a custom object",
    description="Hidden at once with its records; the data stays until a purge.",
    responses=[403, 404],
)
def delete_custom_object(custom_object_id: uuid.UUID):
    return objects.delete_object(admin_change_session(), custom_object_id)


@api.post("/custom-objects/<uuid:custom_object_id>/restore")
@api.auth_required(token_auth)
@api.output(CustomObjectOut)
@api.doc(summary="Restore a deleted custom object", responses=[403, 404])
def restore_custom_object(custom_object_id: uuid.UUID):
    return objects.restore_object(admin_change_session(), custom_object_id)


@api.post("/custom-objects/<uuid:custom_object_id>/purge")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(
    summary="Purge a deleted custom object",
    description="Drops its table, records, fields and views.",
    responses=[403, 404, 409],
)
def purge_custom_object(custom_object_id: uuid.UUID):
    objects.purge_object(admin_change_session(), custom_object_id)
    return ""


# Records ---------------------------------------------------------------------------------------------------


class ObjectRecordIn(schemas.CleanInput):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=255),
        metadata={"description": "The primary display field (the object's `name_label`)."},
    )  # fmt: skip
    owner_user_id = fields.UUID(allow_none=True)
    custom_fields = fields.Dict(
        keys=fields.String(), load_default=None,
        metadata={"description": "Values by field key; relations are `reference` fields (a record's id)."},
    )  # fmt: skip


class ObjectRecordOut(Schema):
    id = fields.UUID()
    name = fields.String()
    owner_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    custom_fields = fields.Dict(keys=fields.String())


ObjectRecordPage = page_of(ObjectRecordOut)


def _annotated(session, entity: str, record):
    custom_fields.annotate(session, entity, [record])
    return record


class ObjectRecords(MethodView):
    decorators = [api.auth_required(token_auth)]

    @api.input(schemas.ListQuery, location="query")
    @api.output(ObjectRecordPage)
    @api.doc(
        summary="List a custom object's records",
        description="Cursor-paginated; `q` searches the name; `cf_<key>=<value>` filters on a field.",
        operation_id="list_object_records",
        responses=[404],
    )
    def get(self, object_key: str, query_data):
        session = current_tenant_session()
        service = objects.service_for(session, object_key)
        entity = service.definition.table_name
        where = custom_fields.filter_conditions(session, entity, query_data.pop("custom", None))
        page = service.list(session, where=where, **query_data)
        custom_fields.annotate(session, entity, page.data)
        return services_page(page)

    @api.input(ObjectRecordIn)
    @api.output(ObjectRecordOut, status_code=201)
    @api.doc(
        summary="Create a custom object's record", responses=[404, 422], operation_id="create_object_record"
    )
    def post(self, object_key: str, json_data):
        session = current_tenant_session()
        service = objects.service_for(session, object_key)
        values = json_data.pop("custom_fields", None)
        record = service.create(session, json_data)
        entity = service.definition.table_name
        custom_fields.write_values(session, entity, record.id, values, creating=True)
        return _annotated(session, entity, record)


class ObjectRecord(MethodView):
    decorators = [api.auth_required(token_auth)]

    @api.output(ObjectRecordOut)
    @api.doc(summary="Read a custom object's record", responses=[404], operation_id="get_object_record")
    def get(self, object_key: str, record_id: uuid.UUID):
        session = current_tenant_session()
        service = objects.service_for(session, object_key)
        return _annotated(session, service.definition.table_name, service.get(session, record_id))

    @api.input(ObjectRecordIn(partial=True))
    @api.output(ObjectRecordOut)
    @api.doc(
        summary="Update a custom object's record", responses=[404, 422], operation_id="update_object_record"
    )
    def patch(self, object_key: str, record_id: uuid.UUID, json_data):
        session = current_tenant_session()
        service = objects.service_for(session, object_key)
        entity = service.definition.table_name
        values = json_data.pop("custom_fields", None)
        record = service.update(session, record_id, json_data)
        if values is not None:
            custom_fields.write_values(session, entity, record.id, values, creating=False)
        return _annotated(session, entity, record)

    @api.output({}, status_code=204)
    @api.doc(summary="Delete a custom object's record", responses=[404], operation_id="delete_object_record")
    def delete(self, object_key: str, record_id: uuid.UUID):
        session = current_tenant_session()
        objects.service_for(session, object_key).delete(session, record_id)
        return ""


api.add_url_rule("/objects/<object_key>/records", view_func=ObjectRecords.as_view("object_records"))
api.add_url_rule(
    "/objects/<object_key>/records/<uuid:record_id>", view_func=ObjectRecord.as_view("object_record")
)
