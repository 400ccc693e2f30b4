"""What a workflow may say: its trigger, its conditions on the record, and its steps, each checked and
normalised here (one place for the page, the API and imports), with every error keyed by where it is
(``trigger.form_id``, ``steps.2.title``)."""

from __future__ import annotations

import uuid
from typing import Any

from saas.automation.definitions import FieldErrors, clean_int, clean_steps, clean_text
from saas.errors import ValidationError
from saas.i18n import N_

TRIGGERS: dict[str, str] = {
    "record_created": N_("A record is created"),
    "record_updated": N_("A record is changed (or a field moves to a value)"),
    "deal_stage_changed": N_("A deal changes stage"),
    "form_submitted": N_("A form is submitted"),
    "campaign_opened": N_("A campaign email is opened"),
    "campaign_clicked": N_("A link in a campaign email is clicked"),
    "website_visited": N_("A known contact visits the website (a page under a path)"),
    "segment_entered": N_("A contact enters a segment"),
    "segment_left": N_("A contact leaves a segment"),
    "date_reached": N_("A date field is reached (N days before or after)"),
}
RECORD_TRIGGERS = ("record_created", "record_updated", "date_reached")
"""Triggers that name a record type; the others enrol deals (stage) or contacts (forms, campaigns,
segments)."""

STEPS: dict[str, str] = {
    "send_email": N_("Send an email from a template"),
    "create_task": N_("Create a task"),
    "assign_owner": N_("Assign an owner (round robin)"),
    "set_field": N_("Set a field"),
    "add_to_list": N_("Add to a static list"),
    "webhook": N_("Call a webhook"),
    "wait": N_("Wait"),
    "branch": N_("If… (branch)"),
    "stop": N_("Stop"),
}
OPERATORS: dict[str, str] = {
    "equals": N_("is"),
    "not_equals": N_("is not"),
    "contains": N_("contains"),
    "is_empty": N_("is empty"),
    "is_not_empty": N_("is not empty"),
    "greater_than": N_("is greater than"),
    "less_than": N_("is less than"),
    "at_least": N_("is at least"),
    "at_most": N_("is at most"),
}
VALUELESS = ("is_empty", "is_not_empty")
ENGAGEMENT = {"email_opened": N_("the last email was opened")}
"""Conditions on the run's own last email rather than on the record (its links are not tracked: there is
no "clicked")."""
UNITS = {"minutes": 1, "hours": 60, "days": 1440}
MAX_STEPS = 50
_FIELD_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def _uuid(value: Any, where: str, errors: FieldErrors, *, required: bool = True) -> str | None:
    if value in (None, ""):
        if required:
            errors.add(where, N_("Choose one."))
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        errors.add(where, N_("Not a valid id."))
        return None


def _field(value: Any, where: str, errors: FieldErrors) -> str:
    name = str(value or "").strip()
    if not name or len(name) > 63 or not set(name) <= _FIELD_CHARS or name in ("id",):
        errors.add(where, N_("Name a field of the record (lower-case letters, digits, underscores)."))
    return name


def clean_condition(raw: Any, where: str, errors: FieldErrors, *, engagement: bool = False) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.add(where, N_("A condition is an object with field, op and value."))
        return {}
    if engagement and raw.get("if") in ENGAGEMENT:
        return {"if": raw["if"]}
    op = raw.get("op")
    if op not in OPERATORS:
        errors.add(f"{where}.op", N_("Choose a comparison."))
    condition = {"field": _field(raw.get("field"), f"{where}.field", errors), "op": op}
    if op not in VALUELESS:
        condition["value"] = clean_text(raw.get("value"), f"{where}.value", errors, 500)
    return condition


def clean_trigger(raw: Any, record_types: set[str], errors: FieldErrors) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") not in TRIGGERS:
        errors.add("trigger.type", N_("Choose a trigger."))
        return {}
    kind = raw["type"]
    trigger: dict[str, Any] = {"type": kind}
    if kind in RECORD_TRIGGERS:
        if raw.get("record_type") not in record_types:
            errors.add("trigger.record_type", N_("Choose a record type."))
        trigger["record_type"] = raw.get("record_type")
    if kind == "record_updated" and raw.get("field"):
        trigger["field"] = _field(raw.get("field"), "trigger.field", errors)
        if raw.get("value") not in (None, ""):
            trigger["value"] = clean_text(raw.get("value"), "trigger.value", errors, 500)
    if kind == "date_reached":
        trigger["field"] = _field(raw.get("field"), "trigger.field", errors)
        trigger["days"] = clean_int(raw.get("days"), "trigger.days", errors, -365, 365, default=0)
    optional = {
        "deal_stage_changed": "stage_id",
        "form_submitted": "form_id",
        "campaign_opened": "campaign_id",
        "campaign_clicked": "campaign_id",
    }
    if kind in optional:
        trigger[optional[kind]] = _uuid(
            raw.get(optional[kind]), f"trigger.{optional[kind]}", errors, required=False
        )
    if kind in ("segment_entered", "segment_left"):
        trigger["segment_id"] = _uuid(raw.get("segment_id"), "trigger.segment_id", errors)
    if kind == "website_visited":
        path = str(raw.get("path") or "/").strip()
        if not path.startswith("/") or len(path) > 500:
            errors.add("trigger.path", N_("A path on the site, starting with / (such as /pricing)."))
        trigger["path"] = path
    return trigger


def _clean_step(raw: Any, index: int, count: int, errors: FieldErrors) -> dict[str, Any]:
    where = f"steps.{index}"
    if not isinstance(raw, dict) or raw.get("type") not in STEPS:
        errors.add(f"{where}.type", N_("Choose a step."))
        return {"type": "stop"}
    kind = raw["type"]
    step: dict[str, Any] = {"type": kind}
    if kind == "send_email":
        step["template_id"] = _uuid(raw.get("template_id"), f"{where}.template_id", errors)
    elif kind == "create_task":
        step["title"] = clean_text(raw.get("title"), f"{where}.title", errors, 200, required=True)
        step["due_days"] = clean_int(raw.get("due_days"), f"{where}.due_days", errors, 0, 365, default=0)
        assignee = raw.get("assignee") or "owner"
        step["assignee"] = "owner" if assignee == "owner" else _uuid(assignee, f"{where}.assignee", errors)
    elif kind == "assign_owner":
        members = raw.get("members") or []
        if not isinstance(members, list) or not members:
            errors.add(f"{where}.members", N_("Choose at least one member."))
            members = []
        step["members"] = [_uuid(m, f"{where}.members", errors) for m in members]
    elif kind == "set_field":
        step["field"] = _field(raw.get("field"), f"{where}.field", errors)
        step["value"] = clean_text(raw.get("value"), f"{where}.value", errors, 500)
    elif kind == "add_to_list":
        step["segment_id"] = _uuid(raw.get("segment_id"), f"{where}.segment_id", errors)
    elif kind == "webhook":
        url = clean_text(raw.get("url"), f"{where}.url", errors, 2000, required=True)
        if url and not url.startswith(("https://", "http://")):
            errors.add(f"{where}.url", N_("Use an http(s) address."))
        step["url"] = url
    elif kind == "wait":
        unit = raw.get("unit") or "days"
        if unit not in UNITS:
            errors.add(f"{where}.unit", N_("Choose minutes, hours or days."))
            unit = "days"
        step["amount"] = clean_int(raw.get("amount"), f"{where}.amount", errors, 0, 100000, default=0)
        step["unit"] = unit
        until = raw.get("until") or ""
        if until and until not in ENGAGEMENT:
            errors.add(f"{where}.until", N_("Choose what to wait for."))
        step["until"] = until
        if until and not step["amount"]:
            errors.add(f"{where}.amount", N_("Say how long to wait at most."))
    elif kind == "branch":
        step["condition"] = clean_condition(
            raw.get("condition"), f"{where}.condition", errors, engagement=True
        )
        otherwise = raw.get("else_step")
        if otherwise in (None, "", "stop"):
            step["else_step"] = None
        else:
            step["else_step"] = clean_int(otherwise, f"{where}.else_step", errors, index + 1, count)
    return step


def clean_workflow(data: dict[str, Any], record_types: set[str]) -> dict[str, Any]:
    """The workflow ``data`` describes (name, enabled, trigger, conditions, steps), normalised; raises a
    ValidationError naming every wrong part."""
    errors = FieldErrors()
    clean: dict[str, Any] = {"name": clean_text(data.get("name"), "name", errors, 200, required=True)}
    clean["enabled"] = bool(data.get("enabled", False))
    clean["trigger"] = clean_trigger(data.get("trigger"), record_types, errors)
    conditions = data.get("conditions") or []
    if not isinstance(conditions, list):
        errors.add("conditions", N_("A list of conditions."))
        conditions = []
    clean["conditions"] = [clean_condition(c, f"conditions.{i}", errors) for i, c in enumerate(conditions)]
    clean["steps"] = clean_steps(data.get("steps"), errors, MAX_STEPS, N_("At most 50 steps."), _clean_step)
    if errors.found:
        raise ValidationError(N_("Please correct the workflow."), errors.found)
    return clean
