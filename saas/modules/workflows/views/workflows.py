"""Pages of workflows: the list (with each one's runs by status), the editor (trigger, conditions and an
ordered step list: add, remove, move up and down, all by plain form posts that re-render the page until
it is saved), switching on and off, deleting, and a workflow's run history."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import ValidationError
from saas.modules.core.activities import acting_user_id
from saas.modules.settings import ADMIN_ROLES
from saas.modules.switches import enabled_module_keys
from saas.modules.workflows import definitions, workflows
from saas.modules.workflows.blueprints import pages
from saas.tenants.routing import current_tenant_session, require_role

TRIGGER_FIELDS = (
    "record_type", "field", "value", "days", "stage_id", "form_id", "campaign_id", "segment_id", "path",
)  # fmt: skip
STEP_FIELDS = ("template_id", "title", "due_days", "assignee", "field", "value", "segment_id", "url",
               "amount", "unit", "until", "else_step")  # fmt: skip
CONDITION_ROWS = 3


def _step_from_form(form: MultiDict, index: int) -> dict[str, Any]:
    prefix = f"step-{index}-"
    step: dict[str, Any] = {"type": form.get(prefix + "type")}
    step |= {
        name: form.get(prefix + name) for name in STEP_FIELDS if form.get(prefix + name) not in (None, "")
    }
    if str(step.get("else_step", "")).isdigit():  # the page counts steps from 1
        step["else_step"] = int(step["else_step"]) - 1
    if step["type"] == "assign_owner":
        step["members"] = form.getlist(prefix + "members")
    if step["type"] == "branch":
        kind = form.get(prefix + "if") or "field"
        step["condition"] = (
            {"if": kind}
            if kind in definitions.ENGAGEMENT
            else {
                "field": form.get(prefix + "cfield"),
                "op": form.get(prefix + "op"),
                "value": form.get(prefix + "cvalue"),
            }
        )
    return step


def _workflow_from_form(form: MultiDict) -> dict[str, Any]:
    trigger = {"type": form.get("trigger_type")}
    trigger |= {name: form.get(f"trigger_{name}") for name in TRIGGER_FIELDS if form.get(f"trigger_{name}")}
    conditions = [
        {
            "field": form.get(f"cond-{i}-field"),
            "op": form.get(f"cond-{i}-op"),
            "value": form.get(f"cond-{i}-value"),
        }
        for i in range(CONDITION_ROWS)
        if form.get(f"cond-{i}-field")
    ]
    count = int(form.get("step_count") or 0) if (form.get("step_count") or "0").isdigit() else 0
    steps = [_step_from_form(form, i) for i in range(min(count, definitions.MAX_STEPS))]
    return {"name": form.get("name", ""), "enabled": bool(form.get("enabled")), "trigger": trigger,
            "conditions": conditions, "steps": steps}  # fmt: skip


def _apply(action: str, data: dict[str, Any], new_step: str | None) -> None:
    """The step list's buttons: add (at the end), remove, up, down; the page is shown again, unsaved."""
    steps = data["steps"]
    verb, _, position = action.partition("-")
    index = int(position) if position.isdigit() and int(position) < len(steps) else None
    if verb == "add" and new_step in definitions.STEPS and len(steps) < definitions.MAX_STEPS:
        steps.append({"type": new_step, "unit": "days"})
    elif verb == "remove" and index is not None:
        steps.pop(index)
    elif verb == "up" and index:
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif verb == "down" and index is not None and index + 1 < len(steps):
        steps[index + 1], steps[index] = steps[index], steps[index + 1]


def _editor(
    data: dict[str, Any], workflow_id: uuid.UUID | None, error: ValidationError | None = None, status=200
):
    session = current_tenant_session()
    enabled = enabled_module_keys(db.session, g.tenant.id)
    choices = workflows.editor_choices(session, enabled, workflow_members())
    return (
        render_template(
            "workflows/edit.html", data=data, workflow_id=workflow_id, choices=choices, defs=definitions,
            message=error.detail if error else None, errors=error.errors if error else {},
            runs=workflows.runs_of_workflow(session, workflow_id) if workflow_id else [],
            condition_rows=CONDITION_ROWS,
        ),
        status,
    )  # fmt: skip


def workflow_members() -> list[tuple[uuid.UUID, str]]:
    return workspace_members(db.session, g.tenant.id)


def _as_data(workflow) -> dict[str, Any]:
    return {"name": workflow.name, "enabled": workflow.enabled, "trigger": workflow.trigger,
            "conditions": workflow.conditions, "steps": workflow.steps}  # fmt: skip


@pages.get("/workflows")
def index():
    session = current_tenant_session()
    return render_template(
        "workflows/index.html",
        workflows=workflows.list_workflows(session),
        counts=workflows.run_counts(session),
        defs=definitions,
    )


@pages.get("/workflows/new")
def new():
    require_role(*ADMIN_ROLES)
    return _editor({"name": "", "enabled": False, "trigger": {}, "conditions": [], "steps": []}, None)


@pages.get("/workflows/<uuid:workflow_id>")
def edit(workflow_id: uuid.UUID):
    return _editor(_as_data(workflows.get_workflow(current_tenant_session(), workflow_id)), workflow_id)


def _save(workflow_id: uuid.UUID | None):
    require_role(*ADMIN_ROLES)
    session = current_tenant_session()
    if workflow_id is not None:
        workflows.get_workflow(session, workflow_id)  # 404 for another workspace's id, before anything else
    data = _workflow_from_form(request.form)
    action = request.form.get("action", "save")
    if action != "save":
        _apply(action, data, request.form.get("new_step"))
        return _editor(data, workflow_id)
    try:
        if workflow_id is None:
            saved = workflows.create_workflow(
                session, data, user_id=acting_user_id(session), base_url=request.host_url
            )
        else:
            saved = workflows.update_workflow(session, workflow_id, data, base_url=request.host_url)
    except ValidationError as error:
        return _editor(data, workflow_id, error, 422)
    flash(gettext("Workflow saved."))
    return redirect(url_for("workflows.edit", workflow_id=saved.id))


@pages.post("/workflows/new")
def create():
    return _save(None)


@pages.post("/workflows/<uuid:workflow_id>")
def update(workflow_id: uuid.UUID):
    return _save(workflow_id)


@pages.post("/workflows/<uuid:workflow_id>/switch")
def switch(workflow_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    on = request.form.get("enabled") == "1"
    workflows.set_enabled(current_tenant_session(), workflow_id, on)
    flash(
        gettext("Workflow switched on.")
        if on
        else gettext("Workflow switched off: its runs stop at their next step.")
    )
    return redirect(url_for("workflows.edit", workflow_id=workflow_id))


@pages.post("/workflows/<uuid:workflow_id>/delete")
def delete(workflow_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    workflows.delete_workflow(current_tenant_session(), workflow_id)
    flash(gettext("Workflow deleted."))
    return redirect(url_for("workflows.index"))
