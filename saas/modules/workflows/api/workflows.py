"""API resources /api/v1/workflows: list, read, create, change, delete workflows, and read their runs.
A workflow is the same JSON the page edits: ``trigger``, ``conditions`` and ``steps`` (docs/api.md)."""

from __future__ import annotations

import uuid

from flask import request
from marshmallow import Schema, fields, validate

from saas.api import token_auth
from saas.modules.core.activities import acting_user_id
from saas.modules.core.schemas import list_of
from saas.modules.workflows import workflows
from saas.modules.workflows.blueprints import api
from saas.tenants.routing import current_tenant_session

DEFINITION = (
    "`trigger`: an object with `type` (record_created, record_updated, deal_stage_changed, form_submitted, "
    "campaign_opened, campaign_clicked, website_visited, segment_entered, segment_left, date_reached) and "
    "its arguments; "
    "`conditions`: a list of {field, op, value}; `steps`: an ordered list of objects with `type` "
    "(send_email, create_task, assign_owner, set_field, add_to_list, webhook, wait, branch, stop) and "
    "its arguments."
)


class WorkflowIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    enabled = fields.Boolean(load_default=False)
    trigger = fields.Dict(required=True)
    conditions = fields.List(fields.Dict(), load_default=list)
    steps = fields.List(fields.Dict(), required=True)


class WorkflowPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    enabled = fields.Boolean()
    trigger = fields.Dict()
    conditions = fields.List(fields.Dict())
    steps = fields.List(fields.Dict())


class WorkflowOut(Schema):
    id = fields.UUID()
    name = fields.String()
    enabled = fields.Boolean()
    trigger = fields.Dict()
    conditions = fields.List(fields.Dict())
    steps = fields.List(fields.Dict())
    version = fields.Integer(metadata={"description": "Counts edits; runs keep the version they started on."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StepRunOut(Schema):
    step_index = fields.Integer()
    kind = fields.String()
    outcome = fields.String(metadata={"description": "done, skipped, waiting, branched, stopped or failed."})
    detail = fields.String()
    at = fields.DateTime()


class RunOut(Schema):
    id = fields.UUID(attribute="enrolment.id")
    record_type = fields.String(attribute="enrolment.record_type")
    record_id = fields.UUID(attribute="enrolment.record_id")
    status = fields.String(attribute="enrolment.status")
    version = fields.Integer(attribute="enrolment.version")
    step_index = fields.Integer(attribute="enrolment.step_index")
    next_run_at = fields.DateTime(attribute="enrolment.next_run_at", allow_none=True)
    trigger_event = fields.String(attribute="enrolment.trigger_event")
    enrolled_at = fields.DateTime(attribute="enrolment.enrolled_at")
    finished_at = fields.DateTime(attribute="enrolment.finished_at", allow_none=True)
    reason = fields.String(attribute="enrolment.reason", allow_none=True)
    steps = fields.List(fields.Nested(StepRunOut))


@api.get("/workflows")
@api.auth_required(token_auth)
@api.output(list_of(WorkflowOut))
@api.doc(summary="List workflows")
def list_workflows():
    return {"data": workflows.list_workflows(current_tenant_session())}


@api.get("/workflows/<uuid:workflow_id>")
@api.auth_required(token_auth)
@api.output(WorkflowOut)
@api.doc(summary="Get a workflow", responses=[404])
def get_workflow(workflow_id: uuid.UUID):
    return workflows.get_workflow(current_tenant_session(), workflow_id)


@api.post("/workflows")
@api.auth_required(token_auth)
@api.input(WorkflowIn)
@api.output(WorkflowOut, status_code=201)
@api.doc(summary="Create a workflow", description=DEFINITION, responses=[422])
def create_workflow(json_data: dict):
    session = current_tenant_session()
    return workflows.create_workflow(
        session, json_data, user_id=acting_user_id(session), base_url=request.host_url
    )


@api.patch("/workflows/<uuid:workflow_id>")
@api.auth_required(token_auth)
@api.input(WorkflowPatch)
@api.output(WorkflowOut)
@api.doc(
    summary="Change a workflow",
    description="Runs under way keep the steps they started with; switched off (`enabled: false`), its runs "
    "stop at their next step. " + DEFINITION,
    responses=[404, 422],
)
def update_workflow(workflow_id: uuid.UUID, json_data: dict):
    session = current_tenant_session()
    enabled = json_data.pop("enabled", None)
    workflow = workflows.update_workflow(session, workflow_id, json_data, base_url=request.host_url)
    if enabled is not None and enabled != workflow.enabled:
        workflow = workflows.set_enabled(session, workflow_id, enabled)
    return workflow


@api.delete("/workflows/<uuid:workflow_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a workflow and its runs", responses=[404])
def delete_workflow(workflow_id: uuid.UUID):
    workflows.delete_workflow(current_tenant_session(), workflow_id)
    return ""


@api.get("/workflows/<uuid:workflow_id>/runs")
@api.auth_required(token_auth)
@api.output(list_of(RunOut))
@api.doc(
    summary="A workflow's runs and what each step did",
    description="Newest first, at most 100.",
    responses=[404],
)
def list_workflow_runs(workflow_id: uuid.UUID):
    return {"data": workflows.runs_of_workflow(current_tenant_session(), workflow_id)}
