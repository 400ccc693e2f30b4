"""What the notifications module hears (``Module.event_listeners``) and whom it tells: the members a note
mentions, a record's new owner or assignee, a deal's owner when it moves stage, a ticket's assignee before
its SLA breaches, and whoever started an import when it finishes.

Events come from the modules that own the records; this module reads only their payloads and the registry,
so that no module (nor core) needs to know it exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from saas.db import TenantSession
from saas.modules.core.activities import acting_user_id
from saas.modules.notifications.mentions import mentioned_members
from saas.modules.notifications.services import Notice, notify
from saas.modules.registry import registry

OWNER_FIELDS = ("owner_user_id", "assignee_user_id")
"""Fields that hand a record to a member."""
IMPORT_DETAILS = ("status", "imported_rows", "error_rows", "page")
"""What a notification keeps of a finished import: its sentence's figures and its status page."""
TIMELINE_TABLES = (("contact_id", "contacts"), ("account_id", "accounts"))


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _label(session: TenantSession, table: str, record_id: uuid.UUID | None, fallback: str = "") -> str:
    """A record's name as people read it, from the module that names such records."""
    if record_id is not None and registry.labels_records(table):
        return registry.record_labels(session, table, [record_id]).get(record_id) or fallback
    return fallback


def _timeline_record(session: TenantSession, entry: dict[str, Any]) -> tuple[str | None, uuid.UUID | None]:
    """The record whose page a timeline entry was written on: the record it is about (a deal), else its
    contact, else its account."""
    subject_type, subject_id = entry.get("subject_type"), _uuid(entry.get("subject_id"))
    if subject_type and subject_id:
        for record_type in registry.record_types(session):
            if subject_type in (record_type.timeline_subject, record_type.table):
                return record_type.table, subject_id
    for column, table in TIMELINE_TABLES:
        if entry.get(column):
            return table, _uuid(entry[column])
    return None, None


def _mentioned(session: TenantSession, table: str | None, record_id: uuid.UUID | None, text: str) -> None:
    notify(
        session,
        mentioned_members(session.tenant.id, text),
        Notice("mentioned", table, record_id, _label(session, table, record_id) if table else "", text),
    )


def on_note(session: TenantSession, entry: dict[str, Any]) -> None:
    """A note on a timeline: its mentions (calls and emails logged from elsewhere may quote any ``@``)."""
    if entry.get("kind") != "note":
        return
    text = "\n".join(part for part in (entry.get("subject"), entry.get("body")) if part)
    table, record_id = _timeline_record(session, entry)
    _mentioned(session, table, record_id, text)


def on_ticket_note(session: TenantSession, payload: dict[str, Any]) -> None:
    """An internal note on a ticket (public replies go to the customer and mention nobody)."""
    ticket_id = _uuid(payload.get("id"))
    notify(
        session,
        mentioned_members(session.tenant.id, payload.get("body")),
        Notice("mentioned", "tickets", ticket_id, payload.get("subject") or "", payload.get("body")),
    )


def on_handed_over(
    session: TenantSession, event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]
) -> None:
    """A record given to a member (created with them as owner, or its owner/assignee changed) by another
    member; an import or a job handing out records tells nobody (their import finishing tells its starter)."""
    if acting_user_id(session) is None:
        return
    noun, verb = event.rsplit(".", 1)
    table = next((t.table for t in registry.record_types(session) if _noun_of(t.table) == noun), None)
    if table is None:
        return
    if verb == "updated":
        new = {_uuid(changes[name][1]) for name in OWNER_FIELDS if name in changes}
    else:
        new = {_uuid(payload.get(name)) for name in OWNER_FIELDS}
    record_id = _uuid(payload.get("id"))
    label = _label(session, table, record_id, str(payload.get("name") or payload.get("subject") or ""))
    notify(session, new, Notice("assigned", table, record_id, label))


def _noun_of(table: str) -> str:
    """The event noun of a record type's table (``deals`` -> ``deal``), as services name their events."""
    return table.removesuffix("s")


def on_deal_moved(session: TenantSession, payload: dict[str, Any]) -> None:
    """A deal moved by a member other than its owner (automation moving it acts for nobody)."""
    if acting_user_id(session) is None:
        return
    deal_id, stage_id = _uuid(payload.get("id")), _uuid(payload.get("stage_id"))
    notify(
        session,
        [_uuid(payload.get("owner_user_id"))],
        Notice(
            "deal_moved",
            "deals",
            deal_id,
            str(payload.get("name") or ""),
            details={"stage": _label(session, "stages", stage_id)},
        ),
    )


def on_sla_at_risk(session: TenantSession, payload: dict[str, Any]) -> None:
    """A ticket about to breach: its assignee is told once per target and due time."""
    ticket_id = _uuid(payload.get("id"))
    target, due = payload.get("target", ""), str(payload.get("due_at", ""))
    notify(
        session,
        [_uuid(payload.get("assignee_user_id"))],
        Notice(
            "sla_at_risk",
            "tickets",
            ticket_id,
            str(payload.get("subject") or ""),
            details={"target": target, "due_at": due},
            dedupe_key=f"sla:{ticket_id}:{target}:{due}",
        ),
    )


def on_import_finished(session: TenantSession, payload: dict[str, Any]) -> None:
    notify(
        session,
        [_uuid(payload.get("created_by_user_id"))],
        Notice(
            "import_finished",
            None,
            None,
            str(payload.get("filename") or ""),
            details={key: payload[key] for key in IMPORT_DETAILS if key in payload},
            dedupe_key=f"import:{payload.get('id')}",
        ),
    )


def hear(session: Any, event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]) -> None:
    """The module's one event listener (``Module.event_listeners``)."""
    if not isinstance(session, TenantSession):
        return
    if event == "activity.logged":
        on_note(session, payload)
    elif event == "ticket.note_added":
        on_ticket_note(session, payload)
    elif event == "deal.stage_changed":
        on_deal_moved(session, payload)
    elif event == "ticket.sla_at_risk":
        on_sla_at_risk(session, payload)
    elif event == "import.finished":
        on_import_finished(session, payload)
    elif _hands_over(event, payload, changes):
        on_handed_over(session, event, payload, changes)


def _hands_over(event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]) -> bool:
    """Whether an event gives a record to a member: an owner changed, or a record created with one."""
    if event.endswith(".updated"):
        return any(name in changes for name in OWNER_FIELDS)
    return event.endswith(".created") and any(payload.get(name) for name in OWNER_FIELDS)
