"""``/api/v1/saved-views``: named list queries, the member's own and the workspace's shared ones."""

from __future__ import annotations

import uuid

from flask import g
from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from saas.api import token_auth
from saas.modules.core import saved_views
from saas.modules.core.blueprints import api
from saas.modules.core.schemas import list_of
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session


def _record_type(entity: str) -> None:
    if not saved_views.is_view_entity(entity):
        raise MarshmallowError("Unknown record type: use a record type's table (contacts, co_<key>...).")


class SavedViewIn(Schema):
    class Meta:
        unknown = RAISE

    entity = fields.String(
        required=True, validate=_record_type,
        metadata={"description": "The record type's table: contacts, accounts, leads, deals, tickets or a "
                  "custom object's `co_<key>`."},
    )  # fmt: skip
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    query = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict,
        metadata={"description": "The list's query parameters: `q`, filters, `cf_<key>` filters, `sort`."},
    )  # fmt: skip
    columns = fields.List(
        fields.String(validate=validate.Length(max=70)), load_default=list, validate=validate.Length(max=30),
        metadata={"description": "The list page's visible columns in order (`cf_<key>` for a custom field); "
                  "empty for the list's own."},
    )  # fmt: skip
    shared = fields.Boolean(load_default=False, metadata={"description": "Visible to the whole workspace."})


class SavedViewOut(Schema):
    id = fields.UUID()
    entity = fields.String()
    name = fields.String()
    query = fields.Dict(keys=fields.String(), values=fields.String())
    query_string = fields.Function(
        saved_views.query_string, metadata={"description": "The query, ready for the API list's URL."}
    )
    columns = fields.List(fields.String())
    shared = fields.Boolean()
    owner_user_id = fields.UUID()
    created_at = fields.DateTime()


class SavedViewQuery(Schema):
    class Meta:
        unknown = RAISE

    entity = fields.String(load_default=None, validate=_record_type)


SavedViewList = list_of(SavedViewOut)


@api.get("/saved-views")
@api.auth_required(token_auth)
@api.input(SavedViewQuery, location="query")
@api.output(SavedViewList)
@api.doc(summary="List saved views", description="The caller's own views and the shared ones.")
def list_saved_views(query_data):
    session = current_tenant_session()
    return {"data": saved_views.visible(session, g.membership.user_id, query_data["entity"])}


@api.post("/saved-views")
@api.auth_required(token_auth)
@api.input(SavedViewIn)
@api.output(SavedViewOut, status_code=201)
@api.doc(
    summary="Save a view",
    description="Only parameters the record type's list accepts are kept; others are refused.",
    responses=[422],
)
def create_saved_view(json_data):
    return saved_views.create(current_tenant_session(), g.membership.user_id, json_data)


@api.delete("/saved-views/<uuid:saved_view_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a saved view", description="Its owner, or an owner/admin.", responses=[403, 404])
def delete_saved_view(saved_view_id: uuid.UUID):
    saved_views.delete(
        current_tenant_session(), g.membership.user_id, saved_view_id,
        is_admin=g.membership.role in ADMIN_ROLES,
    )  # fmt: skip
    return ""
