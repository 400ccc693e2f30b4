"""What the service module holds on a person, and how it erases them (privacy registry hooks).

A person's tickets are the ones they requested; their messages are those they wrote, on any ticket.
Erasure deletes their tickets (with thread and history) and their messages elsewhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from saas.modules.core import custom_fields
from saas.modules.registry import DataSubject
from saas.modules.service.models import Ticket, TicketMessage

TICKET_FIELDS = ("subject", "description", "status", "priority", "channel", "tags", "created_at", "solved_at",
                 "csat_rating", "csat_comment")  # fmt: skip


def personal_data(session: Session, subject: DataSubject) -> dict:
    tickets = session.scalars(
        select(Ticket).where(Ticket.requester_contact_id == subject.contact_id).order_by(Ticket.created_at)
    ).all()
    custom = custom_fields.personal_values(session, "tickets", [ticket.id for ticket in tickets])
    result = []
    for ticket in tickets:
        entry = {name: getattr(ticket, name) for name in TICKET_FIELDS} | {
            "custom_fields": custom.get(ticket.id, {})
        }
        # Internal notes are the team's working notes, not the person's data: only the public thread.
        entry["messages"] = [
            {
                "from": "you" if m.author_contact_id == subject.contact_id else "support",
                "body": m.body,
                "at": m.created_at,
            }
            for m in ticket.messages
            if m.kind == "public"
        ]
        result.append(entry)
    elsewhere = session.scalars(
        select(TicketMessage)
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(
            TicketMessage.author_contact_id == subject.contact_id,
            or_(Ticket.requester_contact_id.is_(None), Ticket.requester_contact_id != subject.contact_id),
        )
        .order_by(TicketMessage.created_at)
    ).all()
    return {
        "tickets": result,
        "messages_on_other_tickets": [{"body": m.body, "at": m.created_at} for m in elsewhere],
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    messages = session.execute(
        delete(TicketMessage).where(TicketMessage.author_contact_id == subject.contact_id)
    ).rowcount
    tickets = session.execute(
        delete(Ticket).where(Ticket.requester_contact_id == subject.contact_id)
    ).rowcount
    return {"tickets": tickets, "ticket_messages": messages}


def retention_keep(cutoff: datetime) -> list[Select]:
    """Requesters of unsolved tickets, or of tickets changed since the cutoff."""
    return [
        select(Ticket.requester_contact_id).where(
            Ticket.requester_contact_id.is_not(None),
            or_(Ticket.status.in_(("new", "open", "pending_customer")), Ticket.updated_at >= cutoff),
        )
    ]
