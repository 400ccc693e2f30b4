"""``/api/v1/bulk-actions``: one action on many records of a type (ids, or all that a list query matches);
large selections run as a job whose progress ``GET /api/v1/bulk-actions/<job_id>`` reads."""

from __future__ import annotations

from flask import g
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from saas.api import token_auth
from saas.api.access import InsufficientScope
from saas.modules.core import bulk, objects, pickers
from saas.modules.core.blueprints import api
from saas.tenants.routing import current_tenant_session


class BulkActionIn(Schema):
    class Meta:
        unknown = RAISE

    record_type = fields.String(
        required=True, validate=validate.Length(min=1, max=70),
        metadata={"description": "The records' table: contacts, accounts, leads, deals, tickets, co_<key>."},
    )  # fmt: skip
    action = fields.String(
        required=True, validate=validate.OneOf(bulk.ACTIONS),
        metadata={"description": "assign_owner (owner or assignee), set_stage (stage or status), add_tag "
                  "(tickets), add_to_list (contacts, onto a static list), delete (owners and admins)."},
    )  # fmt: skip
    value = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100),
        metadata={"description": "The new owner's user id (null: nobody), the stage id or status, the tag, "
                  "or the list as `marketing:<segment id>` (a static list)."},
    )  # fmt: skip
    ids = fields.List(
        fields.String(validate=validate.Length(max=40)), load_default=None,
        validate=validate.Length(min=1, max=bulk.MAX_SELECTION),
        metadata={"description": "The records; ids of no record of this workspace are left out."},
    )  # fmt: skip
    query = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=None,
        metadata={"description": "Instead of ids: every record the list's query (`q`, filters, `cf_<key>`) "
                  "matches."},
    )  # fmt: skip

    @validates_schema
    def one_selection(self, data, **kwargs) -> None:
        if (data.get("ids") is None) == (data.get("query") is None):
            raise ValidationError("Give either ids or query.", "ids")


class BulkFailure(Schema):
    id = fields.String()
    error = fields.String()


class BulkActionOut(Schema):
    job_id = fields.String(
        allow_none=True, metadata={"description": "Set when the action runs as a job: poll its progress."}
    )
    status = fields.String(metadata={"description": "queued, running, done or failed."})
    action = fields.String()
    record_type = fields.String()
    total = fields.Integer()
    done = fields.Integer()
    failed = fields.Integer()
    failures = fields.List(fields.Nested(BulkFailure), metadata={"description": "The first refused records."})


@api.post("/bulk-actions")
@api.auth_required(token_auth)
@api.input(BulkActionIn)
@api.output(BulkActionOut)
@api.doc(
    summary="Act on many records",
    description=f"Up to {bulk.JOB_THRESHOLD} records change within the request (200, with a report per "
    "refused record); more run as a job (202 with its `job_id`). One audit entry per action.",
    responses=[202, 403, 404, 422],
)
def create_bulk_action(json_data):
    session = current_tenant_session()
    # The route's scope (bulk-actions:write) is not enough: the records' own is needed too, so that a
    # client allowed to change leads cannot delete contacts through here.
    table = json_data["record_type"]
    scope = f"{'objects' if objects.is_object_table(table) else table}:write"
    if not g.api_principal.allows(scope):
        raise InsufficientScope(scope)
    outcome = bulk.perform(
        session, pickers.pickable_type(session, json_data["record_type"]), json_data["action"],
        json_data["value"], g.membership.role, ids=json_data["ids"], query=json_data["query"],
    )  # fmt: skip
    base = {"action": outcome.action.action, "record_type": outcome.action.record_type.table}
    if outcome.job_id is not None:
        return {**base, **bulk.progress_of(session.tenant.id, outcome.job_id), "job_id": outcome.job_id}, 202
    return {**base, **outcome.report.as_dict(), "status": "done", "job_id": None}


@api.get("/bulk-actions/<job_id>")
@api.auth_required(token_auth)
@api.output(BulkActionOut)
@api.doc(summary="Read a bulk action's progress", responses=[404])
def get_bulk_action(job_id: str):
    return {**bulk.progress_of(g.tenant.id, job_id), "job_id": job_id}
