"""Tickets: creation (with queue, auto-assignment and SLA clock), changes, the thread of public
replies and internal notes, customer ratings, the tenant's custom fields. Every change is in the ticket's
history and the requester's timeline."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, select

from saas.api.webhooks import emit
from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_, Phrase
from saas.jobs import enqueue_for_tenant
from saas.modules.core import custom_fields
from saas.modules.core.activities import acting_user_id, record_event
from saas.modules.core.models import Contact
from saas.modules.core.pagination import SortKey
from saas.modules.core.services import RecordService, contacts
from saas.modules.registry import registry
from saas.modules.service import queues, sla
from saas.modules.service.models import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
    Queue,
    Ticket,
    TicketEvent,
    TicketMessage,
)

TICKET_SUBJECT = "ticket"
"""``subject_type`` of the ticket's timeline entries."""
OPEN_STATUSES = ("new", "open", "pending_customer")
VIEWS = ("all", "mine", "unassigned", "breaching")
MAX_TAGS = 20
CHANGEABLE = ("subject", "description", "status", "priority", "assignee_user_id", "queue_id", "tags")
SEND_REPLIES_JOB = "saas.modules.service.email.send_pending_replies"
ENTITY = "tickets"
"""The tickets' table: the record type of their custom fields."""

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def record_history(
    session: TenantSession, ticket: Ticket, action: str, details: dict[str, Any] | None = None, *, actor: str
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        action=action,
        details=details or {},
        actor=actor,
        actor_user_id=acting_user_id(session) if actor == "user" else None,
        # Python's clock: the events of one request keep their order.
        created_at=_now(),
    )
    session.add(event)
    return event


def _timeline(session: TenantSession, ticket: Ticket, subject: Phrase, body: str | None = None) -> None:
    if ticket.requester_contact_id is not None:
        record_event(
            session,
            subject,
            body=body,
            contact_id=ticket.requester_contact_id,
            subject_type=TICKET_SUBJECT,
            subject_id=ticket.id,
        )


def contact_for_email(session: TenantSession, address: str, name: str | None = None) -> Contact:
    """The requester with this email (the oldest such contact), created if the tenant has none."""
    try:
        address = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError(
            N_("Enter a valid email address."), {"requester_email": [N_("A valid address.")]}
        ) from None
    contact = session.scalar(
        select(Contact)
        .where(func.lower(Contact.email) == address.lower())
        .order_by(Contact.created_at)
        .limit(1)
    )
    if contact is None:
        # A contact needs a name: the mail's display name, else the address's local part.
        contact = contacts.create(
            session, {"email": address, "last_name": (name or address.split("@")[0])[:100]}
        )
    return contact


def normalise_tags(tags: list[str] | None) -> list[str]:
    cleaned: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip().lower()
        if tag and tag not in cleaned:
            if len(tag) > 50:
                raise ValidationError(
                    N_("Tags are at most 50 characters."), {"tags": [N_("At most 50 characters.")]}
                )
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(
            N_("At most %(limit)s tags.", limit=MAX_TAGS),
            {"tags": [N_("At most %(limit)s.", limit=MAX_TAGS)]},
        )
    return cleaned


def _check(session: TenantSession, ticket: Ticket) -> None:
    errors: dict[str, list[str]] = {}
    if not (ticket.subject or "").strip():
        errors["subject"] = ["A ticket needs a subject."]
    if ticket.status not in STATUSES:
        errors["status"] = [N_("One of %(choices)s.", choices=", ".join(STATUSES))]
    if ticket.priority not in PRIORITIES:
        errors["priority"] = [N_("One of %(choices)s.", choices=", ".join(PRIORITIES))]
    if ticket.channel not in CHANNELS:
        errors["channel"] = [N_("One of %(choices)s.", choices=", ".join(CHANNELS))]
    if ticket.requester_contact_id is not None and session.get(Contact, ticket.requester_contact_id) is None:
        errors["requester_contact_id"] = ["No contact with this id."]
    if ticket.queue_id is not None and session.get(Queue, ticket.queue_id) is None:
        errors["queue_id"] = ["No queue with this id."]
    if ticket.assignee_user_id is not None and not is_member(
        db.session, session.tenant.id, ticket.assignee_user_id
    ):
        errors["assignee_user_id"] = ["Not a member of this workspace."]
    if errors:
        raise ValidationError(N_("Please correct the ticket."), errors)


def write_custom_values(
    session: TenantSession, ticket: Ticket, values: dict[str, Any] | None, *, creating: bool, actor: str
) -> dict[str, tuple[Any, Any]]:
    """Store the ticket's custom field values (by key); on a change, returns the changed ones as
    (before, after) for the ticket's history.

    Staff input (``actor`` "user") is checked in full, as on any record: unknown keys and bad values are
    refused and, on creation, defaults fill the gaps and required fields need a value. A customer (portal,
    inbound mail) never sees the team's fields, so their ticket gets the defaults only and a required
    field stays empty for the team to fill in: an internal rule must never lose a customer's request.
    """
    if creating:
        if actor == "user":
            custom_fields.write_values(session, ENTITY, ticket.id, values, creating=True)
        else:
            _fill_defaults(session, ticket)
        return {}
    if actor != "user":
        return {}
    before = _custom_values(session, ticket)
    custom_fields.write_values(session, ENTITY, ticket.id, values, creating=False)
    after = _custom_values(session, ticket)
    return {key: (before.get(key), value) for key, value in after.items() if before.get(key) != value}


def _custom_values(session: TenantSession, ticket: Ticket) -> dict[str, Any]:
    return custom_fields.read_values(session, ENTITY, [ticket.id]).get(ticket.id, {})


def _fill_defaults(session: TenantSession, ticket: Ticket) -> None:
    defaults = {
        custom_fields.key_of(d): d.default_value
        for d in custom_fields.list_fields(session, ENTITY)
        if d.default_value is not None
    }
    try:
        # Not "creating": that would also demand the required values the customer cannot give.
        custom_fields.write_values(session, ENTITY, ticket.id, defaults, creating=False)
    except ValidationError:
        # A default that no longer fits (its choice or its referenced record is gone) is left out,
        # one by one, rather than refuse the customer's ticket. Nothing was written: checks come first.
        for key, value in defaults.items():
            try:
                custom_fields.write_values(session, ENTITY, ticket.id, {key: value}, creating=False)
            except ValidationError:
                logger.warning("ticket custom field %s: stale default left out", key)


def _announce(
    session: TenantSession,
    event: str,
    ticket: Ticket,
    changes: dict[str, tuple[Any, Any]] | None = None,
    **extra: Any,
) -> None:
    """``ticket.<verb>`` to the tenant's webhook subscribers (sent only if this transaction commits), and
    to the modules' listeners with the ``changes`` an update made."""
    emit(
        session,
        event,
        {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "requester_contact_id": ticket.requester_contact_id,
            "assignee_user_id": ticket.assignee_user_id,
            "queue_id": ticket.queue_id,
            "tags": ticket.tags,
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "custom_fields": _custom_values(session, ticket),
            **extra,
        },
        changes,
    )


class TicketService(RecordService[Ticket]):
    """Lists newest first, filtered by the views of the ticket pages."""

    newest_first = True

    def sort_keys(self) -> tuple[SortKey, ...]:
        return (
            SortKey(Ticket.created_at, lambda ticket: ticket.created_at, datetime.fromisoformat),
            SortKey(Ticket.id, lambda ticket: ticket.id, uuid.UUID),
        )

    def filters(
        self,
        *,
        view: str | None = None,
        me: uuid.UUID | None = None,
        status: str | None = None,
        priority: str | None = None,
        queue_id: uuid.UUID | None = None,
        assignee_user_id: uuid.UUID | None = None,
        requester_contact_id: uuid.UUID | None = None,
        tag: str | None = None,
    ) -> list[ColumnElement[bool]]:
        equal = {
            Ticket.status: status,
            Ticket.priority: priority,
            Ticket.queue_id: queue_id,
            Ticket.assignee_user_id: assignee_user_id,
            Ticket.requester_contact_id: requester_contact_id,
        }
        conditions = [column == value for column, value in equal.items() if value is not None]
        if tag is not None:
            conditions.append(Ticket.tags.contains([tag.strip().lower()]))
        if view == "mine":
            conditions += [Ticket.assignee_user_id == me, Ticket.status.in_(OPEN_STATUSES)]
        elif view == "unassigned":
            conditions += [Ticket.assignee_user_id.is_(None), Ticket.status.in_(OPEN_STATUSES)]
        elif view == "breaching":
            conditions.append(sla.breaching_soon_condition(_now()))
        return conditions

    def create(self, session: TenantSession, data: dict[str, Any], *, actor: str = "user") -> Ticket:
        """Open a ticket; ``custom_fields`` has its custom values by key (:func:`write_custom_values`)."""
        custom = data.get("custom_fields")
        data = {name: value for name, value in data.items() if value is not None and name != "custom_fields"}
        data["tags"] = normalise_tags(data.get("tags"))
        ticket = Ticket(id=uuid.uuid4(), status="new", sla_elapsed_minutes=0, **data)
        ticket.priority = ticket.priority or "normal"
        ticket.channel = ticket.channel or "api"
        if ticket.queue_id is None:
            default = queues.default_queue(session)
            ticket.queue_id = default.id if default else None
        with session.no_autoflush:
            _check(session, ticket)
        if ticket.assignee_user_id is None and ticket.queue_id is not None:
            ticket.assignee_user_id = queues.choose_assignee(session, session.get(Queue, ticket.queue_id))
        now = _now()
        ticket.created_at = ticket.updated_at = now
        sla.start_clock(session, ticket, now)
        session.add(ticket)
        session.flush()
        write_custom_values(session, ticket, custom, creating=True, actor=actor)
        record_history(
            session,
            ticket,
            "created",
            {
                "channel": ticket.channel,
                "priority": ticket.priority,
                "assignee_user_id": _text(ticket.assignee_user_id),
            },
            actor=actor,
        )
        _timeline(
            session,
            ticket,
            Phrase(N_("Ticket opened: %(ticket)s"), {"ticket": ticket.subject}),
            ticket.description,
        )
        _announce(session, "ticket.created", ticket)
        return ticket

    def update(
        self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any], *, actor: str = "user"
    ) -> Ticket:
        ticket = self.get(session, record_id)
        custom = changes.get("custom_fields")
        changes = {name: value for name, value in changes.items() if name != "custom_fields"}
        unknown = set(changes) - set(CHANGEABLE)
        if unknown:
            raise ValidationError(
                N_("These fields cannot be changed."), {name: ["Unknown field."] for name in unknown}
            )
        if "tags" in changes:
            changes = {**changes, "tags": normalise_tags(changes["tags"])}
        if ticket.status == "closed" and changes.get("status", "closed") != "closed":
            raise Conflict(N_("A closed ticket cannot be reopened; open a new ticket instead."))
        before = {name: getattr(ticket, name) for name in changes}
        with session.no_autoflush:
            for name, value in changes.items():
                setattr(ticket, name, value)
            _check(session, ticket)
        changed = {
            name: (before[name], getattr(ticket, name))
            for name in changes
            if before[name] != getattr(ticket, name)
        }
        if custom is not None:
            custom_changed = write_custom_values(session, ticket, custom, creating=False, actor=actor)
            changed |= {f"{custom_fields.PREFIX}{key}": values for key, values in custom_changed.items()}
            if custom_changed and len(changed) == len(custom_changed):
                ticket.updated_at = _now()  # the custom columns change outside the ORM's view
        if not changed:
            return ticket
        now = _now()
        if "status" in changed:
            self._status_changed(session, ticket, changed["status"][0], now)
        elif "priority" in changed:
            sla.recompute_due(session, ticket)
        for name, (old, new) in changed.items():
            record_history(
                session, ticket, f"{name}.changed", {"from": _text(old), "to": _text(new)}, actor=actor
            )
        others = [name for name in changed if name != "status"]
        if "status" in changed:
            _timeline(session, ticket, _status_phrase(ticket))
        if others:
            details = "; ".join(
                f"{name.removeprefix(custom_fields.PREFIX).removesuffix('_id').replace('_', ' ')} changed"
                for name in others
            )
            _timeline(
                session, ticket, Phrase(N_("Ticket updated: %(ticket)s"), {"ticket": ticket.subject}), details
            )
        session.flush()
        _announce(session, "ticket.updated", ticket, changed, changed=sorted(changed))
        return ticket

    @staticmethod
    def _status_changed(session: TenantSession, ticket: Ticket, old: str, now: datetime) -> None:
        if ticket.status in ("solved", "closed") and sla.late_for(ticket, "resolution", now):
            ticket.resolution_breached = True
            record_history(session, ticket, "sla.breached", {"target": "resolution"}, actor="system")
        sla.on_status_change(session, ticket, old, now)
        if ticket.status == "solved":
            ticket.solved_at = now
        elif ticket.status == "closed":
            ticket.closed_at = now
            ticket.solved_at = ticket.solved_at or now
        else:
            ticket.solved_at = None

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        raise Conflict(N_("Tickets are kept; close them instead."))


def _text(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


STATUS_PHRASES = {
    "new": N_("Ticket reopened: %(ticket)s"),
    "open": N_("Ticket opened: %(ticket)s"),
    "pending_customer": N_("Ticket pending customer: %(ticket)s"),
    "solved": N_("Ticket solved: %(ticket)s"),
    "closed": N_("Ticket closed: %(ticket)s"),
}
"""The timeline's entry when a ticket moves to a status, one whole sentence each (they decline)."""


def _status_phrase(ticket: Ticket) -> Phrase:
    message = STATUS_PHRASES.get(ticket.status, "Ticket " + ticket.status + ": %(ticket)s")
    return Phrase(message, {"ticket": ticket.subject})


tickets = TicketService(
    Ticket,
    "ticket",
    search=(Ticket.subject, Ticket.description),
    sortable={
        "subject": Ticket.subject,
        "status": Ticket.status,
        # By severity (low first, ``-priority`` urgent first), not alphabetically: a stored rank, indexed.
        "priority": Ticket.__table__.c.priority_rank,
        "created_at": Ticket.created_at,
        "updated_at": Ticket.updated_at,
        "first_response_due_at": Ticket.first_response_due_at,
        "resolution_due_at": Ticket.resolution_due_at,
    },
)


# --- the thread -----------------------------------------------------------------------------------


def list_messages(
    session: TenantSession, ticket_id: uuid.UUID, *, public_only: bool = False
) -> list[TicketMessage]:
    tickets.get(session, ticket_id)
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if public_only:
        query = query.where(TicketMessage.kind == "public")
    return list(session.scalars(query.order_by(TicketMessage.created_at, TicketMessage.id)))


def list_history(session: TenantSession, ticket_id: uuid.UUID) -> list[TicketEvent]:
    tickets.get(session, ticket_id)
    return list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    )


def add_staff_message(
    session: TenantSession,
    ticket_id: uuid.UUID,
    body: str,
    *,
    kind: str = "public",
    status: str | None = None,
    channel: str = "api",
) -> TicketMessage:
    """A member's public reply (mailed to the requester; the first one meets the first-response
    target) or internal note; ``status`` changes the ticket in the same step."""
    ticket = tickets.get(session, ticket_id)
    body = _body(body)
    if kind not in ("public", "note"):
        raise ValidationError(
            N_("A message is a public reply or an internal note."), {"kind": ["public or note"]}
        )
    if ticket.status == "closed":
        raise Conflict(N_("This ticket is closed."))
    now = _now()
    requester = ticket.requester_contact_id and session.get(Contact, ticket.requester_contact_id)
    message = TicketMessage(
        ticket_id=ticket.id,
        kind=kind,
        body=body,
        author_user_id=acting_user_id(session),
        channel=channel,
        created_at=now,
        mail_status="pending" if kind == "public" and requester and requester.email else None,
    )
    session.add(message)
    if kind == "public":
        if ticket.first_responded_at is None:
            # Answered late: the breach counts now, whether or not the job has flagged it yet.
            if sla.late_for(ticket, "first_response", now):
                ticket.first_response_breached = True
                record_history(session, ticket, "sla.breached", {"target": "first_response"}, actor="system")
            ticket.first_responded_at = now
        record_history(session, ticket, "reply.added", {"message_id": str(message.id)}, actor="user")
        _timeline(
            session, ticket, Phrase(N_("Reply on ticket: %(ticket)s"), {"ticket": ticket.subject}), body
        )
        if status is None and ticket.status == "new":
            status = "open"
    else:
        record_history(session, ticket, "note.added", {"message_id": str(message.id)}, actor="user")
        # Internal notes reach the team only: modules hear them (a mention notifies), webhooks do not.
        payload = {"id": ticket.id, "subject": ticket.subject, "body": body, "message_id": message.id}
        registry.announce(session, "ticket.note_added", payload, {})
    if status is not None and status != ticket.status:
        tickets.update(session, ticket.id, {"status": status})
    session.flush()
    if message.mail_status == "pending":
        enqueue_for_tenant(session.tenant.id, SEND_REPLIES_JOB)
    return message


def add_customer_message(
    session: TenantSession,
    ticket: Ticket,
    contact_id: uuid.UUID,
    body: str,
    *,
    channel: str,
    email_message_id: str | None = None,
) -> TicketMessage:
    """The requester writes (portal or mail): a waiting or solved ticket goes back to the team."""
    if ticket.status == "closed":
        raise Conflict(N_("This ticket is closed; please open a new one."))
    message = TicketMessage(
        ticket_id=ticket.id,
        kind="public",
        body=_body(body),
        author_contact_id=contact_id,
        channel=channel,
        email_message_id=email_message_id,
        created_at=_now(),
    )
    session.add(message)
    session.flush()
    record_history(session, ticket, "customer_reply.added", {"message_id": str(message.id)}, actor="customer")
    _timeline(
        session,
        ticket,
        Phrase(N_("Customer replied on ticket: %(ticket)s"), {"ticket": ticket.subject}),
        message.body,
    )
    if ticket.status in ("pending_customer", "solved"):
        tickets.update(session, ticket.id, {"status": "open"}, actor="customer")
    return message


def _body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError(N_("Write a message."), {"body": [N_("Required.")]})
    if len(body) > 100_000:
        raise ValidationError(N_("The message is too long."), {"body": [N_("At most 100,000 characters.")]})
    return body


# --- the customer's side --------------------------------------------------------------------------


def customer_ticket(session: TenantSession, contact_id: uuid.UUID, ticket_id: uuid.UUID) -> Ticket:
    """The ticket if this contact requested it; any other ticket is simply not found."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.requester_contact_id != contact_id:
        raise NotFound("No such ticket.")
    return ticket


def customer_tickets(session: TenantSession, contact_id: uuid.UUID) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(Ticket.requester_contact_id == contact_id).order_by(Ticket.created_at.desc())
        )
    )


def rate_ticket(session: TenantSession, ticket: Ticket, rating: int, comment: str | None) -> Ticket:
    """The requester's satisfaction rating (1 to 5) of a solved or closed ticket; a new rating replaces it."""
    if ticket.status not in ("solved", "closed"):
        raise Conflict(N_("Only a solved ticket can be rated."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError(N_("Rate from 1 to 5."), {"rating": [N_("1 to 5.")]})
    comment = (comment or "").strip()[:2000] or None
    ticket.csat_rating, ticket.csat_comment, ticket.csat_at = rating, comment, _now()
    record_history(session, ticket, "csat.rated", {"rating": rating}, actor="customer")
    _timeline(
        session,
        ticket,
        Phrase(N_("Ticket rated %(rating)s/5: %(ticket)s"), {"rating": rating, "ticket": ticket.subject}),
        comment,
    )
    session.flush()
    return ticket
