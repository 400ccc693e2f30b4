"""``POST /api/v1/<records>/<id>/merge``: merge another contact, account or lead into this one."""

from __future__ import annotations

import uuid

from apiflask import APIBlueprint
from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.modules.core import custom_fields, schemas
from saas.modules.core.blueprints import api
from saas.modules.core.merge import (
    ACCOUNT_KIND,
    CONTACT_KIND,
    SIDES,
    MergeKind,
    annotate_duplicates,
    merge_records,
)
from saas.modules.core.views.merge import commit_audit_on_success
from saas.tenants.routing import current_tenant_session


class MergeIn(Schema):
    class Meta:
        unknown = RAISE

    merge_id = fields.UUID(
        required=True, metadata={"description": "The record merged into this one, then deleted."}
    )
    choices = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.OneOf(SIDES)),
        load_default=dict,
        data_key="fields",
        metadata={
            "description": "Each field's winner: `this` (the record in the path) or `other`. A field left "
            "out keeps this record's value, or the other's where this one is empty."
        },
    )


def register_merge_resource(blueprint: APIBlueprint, path: str, kind: MergeKind, schema_out: type) -> None:
    out = Schema.from_dict(
        {
            "data": fields.Nested(schema_out),
            "merged_id": fields.UUID(),
            "moved": fields.Dict(keys=fields.String(), values=fields.Integer()),
        },
        name=f"{kind.key.capitalize()}Merge",
    )

    @blueprint.auth_required(token_auth)
    @blueprint.input(MergeIn)
    @blueprint.output(out)
    @blueprint.doc(
        summary=f"Merge a {kind.key} into this one",
        description=f"Moves everything linked to `merge_id` (timeline, deals, tasks, consents...) to this "
        f"{kind.key}, keeps the chosen field values and deletes the other, in one transaction. "
        "Consent takes the stricter state. `moved` counts the rows moved per table.",
        responses=[404, 409, 422],
    )
    def merge(record_id: uuid.UUID, json_data: dict):
        session = current_tenant_session()
        result = merge_records(session, kind, record_id, json_data["merge_id"], json_data["choices"])
        commit_audit_on_success()
        custom_fields.annotate(session, kind.model.__tablename__, [result.survivor])
        return {
            "data": annotate_duplicates(session, kind.key, result.survivor),
            "merged_id": result.merged_id,
            "moved": result.moved,
        }

    blueprint.add_url_rule(f"/{path}/<uuid:record_id>/merge", f"merge_{path}", merge, methods=["POST"])


register_merge_resource(api, "contacts", CONTACT_KIND, schemas.ContactOut)
register_merge_resource(api, "accounts", ACCOUNT_KIND, schemas.AccountOut)
