"""What starts workflows: events emitted in a tenant's transaction (records created or changed, a deal's
stage, forms, campaign opens and clicks), heard through the registry's ``event_listeners``; and two
periodic checks, since segments are evaluated on demand and dates pass without an event: a diff of each
segment's membership against the last check, and date fields reaching their day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import column, delete, func, select, table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.automation import clock
from saas.db import TenantSession, db
from saas.modules.registry import RecordType, registry
from saas.modules.switches import is_module_enabled
from saas.modules.workflows.models import Workflow, WorkflowDateHit, WorkflowSegmentMember
from saas.modules.workflows.runs import enrol
from saas.modules.workflows.steps import field_matches

CONTACT_EVENTS = {
    "form.submitted": "form_submitted",
    "campaign.opened": "campaign_opened",
    "campaign.clicked": "campaign_clicked",
    "website.visited": "website_visited",
}
_ENABLED = "workflows_module_on"


def event_noun(table_name: str) -> str:
    """The noun of a record type's events: ``contacts`` -> ``contact``; a custom object's ``co_vehicle``
    as is."""
    return table_name if table_name.startswith("co_") else table_name.removesuffix("s")


def _module_on(session: TenantSession) -> bool:
    if _ENABLED not in session.info:
        session.info[_ENABLED] = is_module_enabled(db.session, session.tenant.id, "workflows")
    return session.info[_ENABLED]


def _record_type(session: Session, noun: str) -> RecordType | None:
    return next((t for t in registry.record_types(session) if event_noun(t.table) == noun), None)


def _record(session: Session, record_type: RecordType | None, record_id: uuid.UUID) -> Any | None:
    if record_type is None or record_type.service is None:
        return None
    return session.get(record_type.service().model, record_id)


def _contact_of(
    record_type: str, record_id: uuid.UUID, record: Any, payload: dict[str, Any]
) -> uuid.UUID | None:
    if record_type == "contacts":
        return record_id
    found = (
        payload.get("contact_id")
        or payload.get("requester_contact_id")
        or getattr(record, "contact_id", None)
    )
    return uuid.UUID(str(found)) if found else None


def _conditions_hold(record: Any, workflow: Workflow) -> bool:
    return all(record is not None and field_matches(record, c) for c in workflow.conditions)


def _moved(trigger: dict[str, Any], changes: dict[str, tuple[Any, Any]], payload: dict[str, Any]) -> bool:
    """Whether an update matches a ``record_updated`` trigger: any change, or its field changed (to its
    value)."""
    name = trigger.get("field")
    if not name:
        return bool(changes) or bool(payload.get("changed"))
    if name in changes:
        after = changes[name][1]
    elif name in (payload.get("changed") or ()):  # tickets name what changed; the payload has the value
        after = payload.get(name)
    else:
        return False
    return (
        "value" not in trigger or str(after if after is not None else "").lower() == trigger["value"].lower()
    )


def _visited_under(path: str, payload: dict[str, Any]) -> bool:
    """Whether a batch of page views (``paths``) holds ``path`` or a page under it (``/pricing`` matches
    ``/pricing/teams``, not ``/pricingplans``)."""
    prefix = path.rstrip("/")
    return any(
        not prefix or page in (path, prefix) or page.startswith(prefix + "/")
        for page in payload.get("paths") or ()
    )


def on_event(
    session: Session, event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]
) -> None:
    """The module's event listener: enrol the event's record in every enabled workflow it triggers."""
    if not isinstance(session, TenantSession) or ("id" not in payload and event not in CONTACT_EVENTS):
        return
    noun, _, verb = event.partition(".")
    if event in CONTACT_EVENTS:
        kinds, record_type_name = [CONTACT_EVENTS[event]], "contacts"
    elif event == "deal.stage_changed":
        kinds, record_type_name = ["deal_stage_changed"], "deals"
    elif verb in ("created", "updated"):
        kinds, record_type_name = [f"record_{verb}"], None
    else:
        return
    if not _module_on(session):
        return
    workflows = session.scalars(
        select(Workflow).where(Workflow.enabled.is_(True), Workflow.trigger["type"].astext.in_(kinds))
    ).all()
    if not workflows:
        return
    record_type = (
        _record_type(session, noun)
        if record_type_name is None
        else registry.record_type(session, record_type_name)
    )
    if record_type is None:
        return
    raw_id = payload.get("contact_id") if event in CONTACT_EVENTS else payload.get("id")
    if not raw_id:
        return
    record_id = uuid.UUID(str(raw_id))
    record = _record(session, record_type, record_id)
    for workflow in workflows:
        trigger = workflow.trigger
        if record_type_name is None and trigger.get("record_type") != record_type.table:
            continue
        if verb == "updated" and not _moved(trigger, changes, payload):
            continue
        if trigger["type"] == "website_visited" and not _visited_under(trigger.get("path") or "/", payload):
            continue
        wanted = trigger.get("stage_id") or trigger.get("form_id") or trigger.get("campaign_id")
        if wanted and str(payload.get(_wanted_key(trigger["type"]))) != wanted:
            continue
        if not _conditions_hold(record, workflow):
            continue
        enrol(
            session,
            workflow,
            record_type.table,
            record_id,
            _contact_of(record_type.table, record_id, record, payload),
            event,
        )


def _wanted_key(kind: str) -> str:
    return {"deal_stage_changed": "stage_id", "form_submitted": "form_id"}.get(kind, "campaign_id")


# --- periodic triggers ----------------------------------------------------------------------------------


def check_segments(session: TenantSession) -> dict[str, int]:
    """Diff each segment workflow's segment against the last check: who entered, who left. Contacts
    already in the segment at the first check count as entering."""
    from saas.modules.core.models import Contact
    from saas.modules.marketing.models import Segment
    from saas.modules.marketing.segments import audience_query

    enrolled = 0
    kinds = ("segment_entered", "segment_left")
    for workflow in session.scalars(
        select(Workflow).where(Workflow.enabled.is_(True), Workflow.trigger["type"].astext.in_(kinds))
    ).all():
        segment = session.get(Segment, uuid.UUID(workflow.trigger["segment_id"]))
        if segment is None:
            continue
        now_in = set(session.scalars(audience_query(segment, clock.now())))
        before = set(
            session.scalars(
                select(WorkflowSegmentMember.contact_id).where(
                    WorkflowSegmentMember.workflow_id == workflow.id
                )
            )
        )
        moved = now_in - before if workflow.trigger["type"] == "segment_entered" else before - now_in
        records = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(moved)))}
        for contact_id in sorted(moved):
            if contact_id in records and _conditions_hold(records[contact_id], workflow):
                enrolled += (
                    enrol(session, workflow, "contacts", contact_id, contact_id, workflow.trigger["type"])
                    is not None
                )
        session.execute(
            delete(WorkflowSegmentMember).where(
                WorkflowSegmentMember.workflow_id == workflow.id,
                WorkflowSegmentMember.contact_id.in_(before - now_in),
            )
        )
        if now_in - before:
            session.execute(
                insert(WorkflowSegmentMember)
                .values([{"workflow_id": workflow.id, "contact_id": c} for c in now_in - before])
                .on_conflict_do_nothing()
            )
        session.commit()
    return {"enrolled": enrolled}


def check_dates(session: TenantSession, today: date | None = None) -> dict[str, int]:
    """Enrol the records whose date field is ``days`` from today (-3: three days before the date), each
    record and date once."""
    today = today or clock.now().date()
    enrolled = 0
    for workflow in session.scalars(
        select(Workflow).where(Workflow.enabled.is_(True), Workflow.trigger["type"].astext == "date_reached")
    ).all():
        trigger = workflow.trigger
        record_type = registry.record_type(session, trigger["record_type"])
        if record_type is None:
            continue
        # Names from the registry and the checked definition; SQLAlchemy quotes them as identifiers.
        records = table(record_type.table, column("id"), column(trigger["field"]))
        due_on = today - timedelta(days=trigger["days"])
        ids = session.scalars(
            select(records.c.id).where(func.date(records.c[trigger["field"]]) == due_on)
        ).all()
        for record_id in ids:
            hit = session.execute(
                insert(WorkflowDateHit)
                .values(workflow_id=workflow.id, record_id=record_id, due_on=due_on)
                .on_conflict_do_nothing()
                .returning(WorkflowDateHit.record_id)
            ).first()
            if hit is None:
                continue
            record = _record(session, record_type, record_id)
            if _conditions_hold(record, workflow):
                contact_id = _contact_of(record_type.table, record_id, record, {})
                enrolled += (
                    enrol(session, workflow, record_type.table, record_id, contact_id, "date.reached")
                    is not None
                )
        session.commit()
    return {"enrolled": enrolled}


def check_all_periodic_triggers() -> dict[str, Any]:
    """Periodic: segment and date triggers in every workspace with workflows on."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def check(ref) -> dict[str, int]:
        with tenant_session(ref) as session:
            found = check_segments(session) if _module_enabled_for(ref, "marketing") else {"enrolled": 0}
            return {"segments": found["enrolled"], "dates": check_dates(session)["enrolled"]}

    return for_each_tenant("workflows.triggers", check, module="workflows").as_dict()


def _module_enabled_for(ref, key: str) -> bool:
    return is_module_enabled(db.session, ref.id, key)
