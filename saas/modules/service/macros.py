"""Macros: canned replies with ticket changes (status, priority, queue, assignee, tags) an agent applies
to a ticket in one step. Shared macros are the workspace's (owners and admins keep them, in the audit
log); personal ones are their owner's alone, invisible to everyone else.

Replies take merge fields, ``{{ ticket.subject }}``, by strict substitution: a fixed list of names, no
template language, so a macro can never run code; an unknown name is refused when the macro is saved.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select

from saas.auth.models import User
from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.activities import acting_user_id
from saas.modules.core.models import Contact
from saas.modules.service import admin
from saas.modules.service.models import (
    MACRO_SCOPES,
    MESSAGE_KINDS,
    PRIORITIES,
    STATUSES,
    Macro,
    Queue,
    Ticket,
)
from saas.modules.service.tickets import add_staff_message, normalise_tags, record_history, tickets
from saas.tenants.models import Tenant

FIELDS = (
    "name",
    "scope",
    "reply",
    "reply_kind",
    "status",
    "priority",
    "queue_id",
    "assignee_user_id",
    "tags",
)
CHANGES = ("status", "priority", "queue_id", "assignee_user_id")
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class MergeContext:
    """What a reply's merge fields read: the ticket, its requester, the acting agent, the workspace."""

    def __init__(self, session: TenantSession, ticket: Ticket) -> None:
        self.ticket = ticket
        self.contact = (
            session.get(Contact, ticket.requester_contact_id) if ticket.requester_contact_id else None
        )
        agent_id = acting_user_id(session)
        self.agent = db.session.get(User, agent_id) if agent_id else None
        self.workspace = db.session.get(Tenant, session.tenant.id)


def _contact(read: Callable[[Contact], str | None]) -> Callable[[MergeContext], str | None]:
    return lambda context: read(context.contact) if context.contact is not None else None


MERGE_FIELDS: dict[str, Callable[[MergeContext], str | None]] = {
    "ticket.subject": lambda c: c.ticket.subject,
    "ticket.reference": lambda c: c.ticket.reference,
    "ticket.status": lambda c: c.ticket.status.replace("_", " "),
    "ticket.priority": lambda c: c.ticket.priority,
    "contact.first_name": _contact(lambda contact: contact.first_name),
    "contact.last_name": _contact(lambda contact: contact.last_name),
    "contact.name": _contact(lambda contact: contact.display_name),
    "contact.email": _contact(lambda contact: contact.email),
    # Members have no display name: the product names them by email everywhere.
    "agent.name": lambda c: c.agent.email if c.agent else None,
    "agent.email": lambda c: c.agent.email if c.agent else None,
    "workspace.name": lambda c: c.workspace.name if c.workspace else None,
}
"""The merge fields a reply may use; a missing value (no requester, no first name) merges as nothing."""


def merge_field_names(text: str | None) -> list[str]:
    """The names between ``{{`` and ``}}`` in ``text``, stripped, in order."""
    return [match.strip() for match in PLACEHOLDER.findall(text or "")]


def check_merge_fields(text: str | None) -> None:
    """Refuse a reply naming a merge field that does not exist (or an unclosed ``{{``)."""
    unknown = [name for name in merge_field_names(text) if name not in MERGE_FIELDS]
    leftover = PLACEHOLDER.sub("", text or "")
    if unknown or "{{" in leftover:
        shown = unknown[0][:60] if unknown else "{{"
        raise ValidationError(
            N_("The reply names an unknown merge field."),
            {
                "reply": [
                    N_(
                        "Unknown merge field: %(field)s. Known: %(fields)s.",
                        field=shown,
                        fields=", ".join(MERGE_FIELDS),
                    )
                ]
            },
        )


def render_reply(text: str, context: MergeContext) -> str:
    """``text`` with each merge field replaced by its value; values are inserted as they are, never
    read as template text again."""
    return PLACEHOLDER.sub(lambda match: MERGE_FIELDS[match.group(1).strip()](context) or "", text)


def _visible(session: TenantSession) -> Any:
    """Shared macros and the acting member's own."""
    return or_(Macro.scope == "shared", Macro.owner_user_id == acting_user_id(session))


def list_macros(session: TenantSession) -> list[Macro]:
    """The macros the acting member may use: shared first, then their own, by name."""
    query = select(Macro).where(_visible(session)).order_by(Macro.scope.desc(), Macro.name, Macro.id)
    return list(session.scalars(query))


def get_macro(session: TenantSession, macro_id: uuid.UUID) -> Macro:
    """A shared macro or the acting member's own; another member's personal macro is simply not found."""
    macro = session.scalar(select(Macro).where(Macro.id == macro_id, _visible(session)))
    if macro is None:
        raise NotFound("No such macro.")
    return macro


def _check(session: TenantSession, macro: Macro) -> None:
    errors: dict[str, list[str]] = {}
    if not (macro.name or "").strip():
        errors["name"] = ["A macro needs a name."]
    if macro.scope not in MACRO_SCOPES:
        errors["scope"] = [N_("One of %(choices)s.", choices=", ".join(MACRO_SCOPES))]
    if macro.reply_kind not in MESSAGE_KINDS:
        errors["reply_kind"] = [N_("One of %(choices)s.", choices=", ".join(MESSAGE_KINDS))]
    if macro.status is not None and macro.status not in STATUSES:
        errors["status"] = [N_("One of %(choices)s.", choices=", ".join(STATUSES))]
    if macro.priority is not None and macro.priority not in PRIORITIES:
        errors["priority"] = [N_("One of %(choices)s.", choices=", ".join(PRIORITIES))]
    if macro.queue_id is not None and session.get(Queue, macro.queue_id) is None:
        errors["queue_id"] = ["No queue with this id."]
    if macro.assignee_user_id is not None and not is_member(
        db.session, session.tenant.id, macro.assignee_user_id
    ):
        errors["assignee_user_id"] = ["Not a member of this workspace."]
    if errors:
        raise ValidationError(N_("Please correct the macro."), errors)
    if not (
        macro.reply
        or macro.status
        or macro.priority
        or macro.queue_id
        or macro.assignee_user_id
        or macro.tags
    ):
        raise ValidationError(
            N_("A macro must reply or change something."), {"reply": ["Write a reply or choose a change."]}
        )
    check_merge_fields(macro.reply)


def _may_keep(session: TenantSession, macro: Macro, verb: str) -> None:
    """Shared macros are kept by owners and admins (audited); personal ones by their owner only."""
    if macro.scope == "shared":
        admin.audit(session, f"macro.{verb}", str(macro.id), {"name": macro.name})
    elif macro.owner_user_id != acting_user_id(session):
        raise NotFound("No such macro.")


def _assign(session: TenantSession, macro: Macro, data: dict[str, Any]) -> None:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError("These fields cannot be set.", {name: ["Unknown field."] for name in unknown})
    for name, value in data.items():
        if name == "tags":
            value = normalise_tags(value)
        elif name == "reply" and isinstance(value, str):
            value = value.strip() or None
        elif name == "reply_kind":
            value = value or "public"
        setattr(macro, name, value)
    macro.owner_user_id = acting_user_id(session) if macro.scope == "personal" else None


def create_macro(session: TenantSession, data: dict[str, Any]) -> Macro:
    """A new macro; personal unless ``scope`` is shared (owners and admins only)."""
    macro = Macro(id=uuid.uuid4(), scope="personal", reply_kind="public", tags=[])
    _assign(session, macro, data)
    with session.no_autoflush:
        _check(session, macro)
    _may_keep(session, macro, "created")
    session.add(macro)
    session.flush()
    return macro


def update_macro(session: TenantSession, macro_id: uuid.UUID, changes: dict[str, Any]) -> Macro:
    """Change a macro; moving it between shared and personal needs the right to keep both kinds."""
    macro = get_macro(session, macro_id)
    _may_keep(session, macro, "updated")
    scope = macro.scope
    with session.no_autoflush:
        _assign(session, macro, changes)
        _check(session, macro)
    if macro.scope != scope:
        _may_keep(session, macro, "moved")
    session.flush()
    return macro


def delete_macro(session: TenantSession, macro_id: uuid.UUID) -> None:
    macro = get_macro(session, macro_id)
    _may_keep(session, macro, "deleted")
    session.delete(macro)
    session.flush()


def apply_macro(
    session: TenantSession, ticket_id: uuid.UUID, macro_id: uuid.UUID, *, channel: str = "api"
) -> Ticket:
    """Apply a macro to a ticket: its reply is sent as an agent reply (mailed, first response counted)
    and its changes go through the ticket service (history, timeline, ``ticket.updated``), all in the
    caller's transaction. A macro whose assignee has left the workspace is refused, not half-applied.
    """
    macro = get_macro(session, macro_id)
    ticket = tickets.get(session, ticket_id)
    if macro.assignee_user_id is not None and not is_member(
        db.session, session.tenant.id, macro.assignee_user_id
    ):
        raise ValidationError(
            N_("This macro assigns to someone no longer in the workspace; change its assignee first."),
            {"assignee_user_id": ["Not a member of this workspace."]},
        )
    changes: dict[str, Any] = {
        name: getattr(macro, name) for name in CHANGES if getattr(macro, name) is not None
    }
    if macro.tags:
        changes["tags"] = [*ticket.tags, *(tag for tag in macro.tags if tag not in ticket.tags)]
    record_history(session, ticket, "macro.applied", {"macro": macro.name}, actor="user")
    if macro.reply:
        body = render_reply(macro.reply, MergeContext(session, ticket))
        # The reply first: it carries the status (as an agent's reply with "then set status" does).
        add_staff_message(
            session,
            ticket.id,
            body,
            kind=macro.reply_kind,
            status=changes.pop("status", None),
            channel=channel,
        )
    if changes:
        tickets.update(session, ticket.id, changes)
    session.flush()
    return ticket
