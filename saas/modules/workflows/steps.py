"""What each step does. Steps reach other modules through their public services and the registry's record
types; a step whose module is switched off is skipped, with the reason in the run's history."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from saas.automation import clock
from saas.automation.runs import Outcome
from saas.db import TenantSession, db
from saas.errors import NotFound
from saas.modules.registry import RecordType
from saas.modules.switches import is_module_enabled
from saas.modules.workflows.definitions import UNITS
from saas.modules.workflows.models import Workflow, WorkflowEmail, WorkflowEnrolment


@dataclass
class StepContext:
    session: TenantSession
    enrolment: WorkflowEnrolment
    workflow: Workflow
    record_types: dict[str, RecordType]
    """The workspace's record types by table, read once per batch (custom objects are rows)."""
    _modules: dict[str, bool] = field(default_factory=dict)

    def module_on(self, key: str) -> bool:
        if key not in self._modules:
            self._modules[key] = is_module_enabled(db.session, self.session.tenant.id, key)
        return self._modules[key]

    def record_type(self) -> RecordType | None:
        return self.record_types.get(self.enrolment.record_type)

    def record(self) -> Any | None:
        record_type = self.record_type()
        if record_type is None or record_type.service is None:
            return None
        try:
            return record_type.service().get(self.session, self.enrolment.record_id)
        except NotFound:
            return None


def _skipped(reason: str) -> Outcome:
    return Outcome("next", "skipped", reason)


def _off(module: str) -> Outcome:
    return _skipped(f"Skipped: the {module} module is switched off.")


# --- conditions ---------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def field_matches(record: Any, condition: dict[str, Any]) -> bool:
    """Whether ``record``'s field passes ``condition`` (text comparison; numbers compare as numbers)."""
    value = getattr(record, condition["field"], None)
    text = "" if value is None else str(value)
    wanted = str(condition.get("value", ""))
    op = condition["op"]
    if op == "is_empty":
        return text == ""
    if op == "is_not_empty":
        return text != ""
    if op == "equals":
        return text.lower() == wanted.lower()
    if op == "not_equals":
        return text.lower() != wanted.lower()
    if op == "contains":
        return wanted.lower() in text.lower()
    left, right = _number(text), _number(wanted)
    if op in ("at_least", "at_most"):
        # Thresholds on numbers (a lead's rule_score or predicted_score): an empty field passes neither.
        if left is None or right is None:
            return False
        return left >= right if op == "at_least" else left <= right
    if left is None or right is None:
        return (text > wanted) if op == "greater_than" else (text < wanted)
    return left > right if op == "greater_than" else left < right


def _last_email(context: StepContext) -> WorkflowEmail | None:
    return context.session.scalar(
        select(WorkflowEmail)
        .where(WorkflowEmail.enrolment_id == context.enrolment.id)
        .order_by(WorkflowEmail.step_index.desc())
        .limit(1)
    )


def holds(context: StepContext, condition: dict[str, Any]) -> bool:
    if condition.get("if") == "email_opened":
        email = _last_email(context)
        return email is not None and email.opened_at is not None
    record = context.record()
    return record is not None and field_matches(record, condition)


# --- steps --------------------------------------------------------------------------------------------


def _send_email(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    if not context.module_on("marketing"):
        return _off("marketing")
    from saas.modules.core.models import Contact
    from saas.modules.marketing.models import Campaign
    from saas.modules.privacy.consent import may_contact

    session, enrolment = context.session, context.enrolment
    contact = session.get(Contact, enrolment.contact_id) if enrolment.contact_id else None
    if contact is None or not contact.email:
        return _skipped("Skipped: the record has no contact with an email address.")
    if session.get(Campaign, uuid.UUID(step["template_id"])) is None:
        return _skipped("Skipped: the email's template was deleted.")
    if not may_contact(session, contact.id, "email_marketing"):
        return _skipped("Skipped: the contact has not agreed to marketing email.")
    session.add(
        WorkflowEmail(
            enrolment_id=enrolment.id, step_index=index, contact_id=contact.id,
            template_id=uuid.UUID(step["template_id"]), email=contact.email, status="queued", attempts=0,
        )
    )  # fmt: skip
    session.flush()
    return Outcome("next", "done", f"Email queued to {contact.email}.")


def _owner_of(context: StepContext) -> uuid.UUID | None:
    record = context.record()
    owner = getattr(record, "owner_user_id", None) if record is not None else None
    if owner is None and record is not None and getattr(record, "account", None) is not None:
        owner = getattr(record.account, "owner_user_id", None)
    return owner or context.workflow.created_by_user_id


def _create_task(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    if not context.module_on("sfa"):
        return _off("sales")
    from saas.modules.sfa.tasks import tasks

    enrolment = context.enrolment
    links = {"contacts": "contact_id", "accounts": "account_id", "deals": "deal_id", "leads": "lead_id"}
    assignee = _owner_of(context) if step["assignee"] == "owner" else uuid.UUID(step["assignee"])
    data: dict[str, Any] = {
        "title": step["title"],
        "assignee_user_id": assignee,
        "due_at": clock.now() + timedelta(days=step.get("due_days", 0)),
        "notes": f"Created by the workflow “{context.workflow.name}”.",
    }
    if enrolment.record_type in links:
        data[links[enrolment.record_type]] = enrolment.record_id
    elif enrolment.contact_id:
        data["contact_id"] = enrolment.contact_id
    task = tasks.create(context.session, data)
    return Outcome("next", "done", f"Task “{task.title}” created.")


def _update_record(context: StepContext, changes: dict[str, Any]) -> Outcome | None:
    record_type = context.record_type()
    if record_type is None or record_type.service is None:
        return _skipped("Skipped: the record type no longer exists.")
    if not context.module_on(record_type.module):
        return _off(record_type.module)
    try:
        record_type.service().update(context.session, context.enrolment.record_id, changes)
    except NotFound:
        return _skipped("Skipped: the record was deleted.")
    return None


def _assign_owner(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    record = context.record()
    if record is None or not hasattr(record, "owner_user_id"):
        return _skipped("Skipped: this kind of record has no owner.")
    # The workflow row is locked so that concurrent runs take turns in order.
    workflow = context.session.get(Workflow, context.workflow.id, with_for_update=True)
    turns = dict(workflow.round_robin or {})
    turn = turns.get(str(index), 0)
    member = step["members"][turn % len(step["members"])]
    workflow.round_robin = {**turns, str(index): turn + 1}
    refused = _update_record(context, {"owner_user_id": uuid.UUID(member)})
    return refused or Outcome("next", "done", f"Owner set to member {member}.")


def _set_field(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    refused = _update_record(context, {step["field"]: step["value"] if step["value"] != "" else None})
    return refused or Outcome("next", "done", f"{step['field']} set to “{step['value']}”.")


def _add_to_list(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    if not context.module_on("marketing"):
        return _off("marketing")
    from saas.modules.marketing.segments import set_members

    if context.enrolment.contact_id is None:
        return _skipped("Skipped: the record has no contact.")
    try:
        set_members(context.session, uuid.UUID(step["segment_id"]), [context.enrolment.contact_id], add=True)
    except NotFound:
        return _skipped("Skipped: the list was deleted.")
    return Outcome("next", "done", "Added to the list.")


def _webhook(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    from saas.webhooks.delivery import post_json

    enrolment = context.enrolment
    body = json.dumps(
        {
            "workflow_id": str(enrolment.workflow_id), "enrolment_id": str(enrolment.id), "step": index,
            "record_type": enrolment.record_type, "record_id": str(enrolment.record_id),
        }
    ).encode()  # fmt: skip
    # At least once: a killed run posts again, under the same Webhook-Id to de-duplicate on.
    status, error = post_json(step["url"], body, {"Webhook-Id": f"{enrolment.id}:{index}"})
    if error:
        return _skipped(f"The webhook was not accepted: {error}.")
    return Outcome("next", "done", f"Webhook answered {status}.")


def _wait(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    started = context.enrolment.wait_started_at or clock.now()
    until = started + timedelta(minutes=step["amount"] * UNITS[step["unit"]])
    if step.get("until") and holds(context, {"if": step["until"]}):
        return Outcome("next", "done", "What it waited for happened.")
    if clock.now() >= until:
        return Outcome("next", "done", "Waited until " + until.isoformat(timespec="minutes") + ".")
    return Outcome("wait", detail=f"Waiting until {until.isoformat(timespec='minutes')}.", until=until)


def _branch(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    if holds(context, step["condition"]):
        return Outcome("next", "branched", "The condition held.")
    otherwise = step.get("else_step")
    if otherwise is None:
        return Outcome("stop", "branched", "The condition did not hold: the run ends here.")
    return Outcome(
        "goto", "branched", f"The condition did not hold: on to step {otherwise + 1}.", goto=otherwise
    )


def _stop(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    return Outcome("stop", "stopped", "A stop step ended the run.")


EXECUTORS = {
    "send_email": _send_email,
    "create_task": _create_task,
    "assign_owner": _assign_owner,
    "set_field": _set_field,
    "add_to_list": _add_to_list,
    "webhook": _webhook,
    "wait": _wait,
    "branch": _branch,
    "stop": _stop,
}


def execute(context: StepContext, step: dict[str, Any], index: int) -> Outcome:
    return EXECUTORS[step["type"]](context, step, index)
