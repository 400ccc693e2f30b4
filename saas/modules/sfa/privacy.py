"""What the sales module holds on a person, and how it erases them (privacy registry hooks).

A lead is the person's when it was converted into their contact or carries their email; deals belong
to the customer company, so only the person's link to them goes. Quotes addressed to the person stay
(the company's offer, numbered without gaps) but lose what the person typed and sent: their name and
network address of an answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from saas.modules.core import custom_fields
from saas.modules.registry import DataSubject
from saas.modules.sfa.models import Deal, DealContact, Lead, Quote, Task

# Scores are profiling: the person sees them and the factors behind them (scoring.py).
LEAD_FIELDS = ("first_name", "last_name", "email", "phone", "company", "title", "status", "source", "notes",
               "rule_score", "predicted_score", "score_factors")  # fmt: skip
TASK_FIELDS = ("title", "notes", "due_at", "status")
QUOTE_FIELDS = ("reference", "status", "currency", "total", "expires_on", "responded_at", "responder_name",
                "responder_ip", "decline_reason")  # fmt: skip


def _their_leads(subject: DataSubject):
    match = Lead.converted_contact_id == subject.contact_id
    if subject.email:
        match = or_(match, func.lower(Lead.email) == subject.email.lower())
    return match


def _their_tasks(subject: DataSubject):
    return or_(
        Task.contact_id == subject.contact_id, Task.lead_id.in_(select(Lead.id).where(_their_leads(subject)))
    )


def personal_data(session: Session, subject: DataSubject) -> dict:
    leads = list(session.scalars(select(Lead).where(_their_leads(subject)).order_by(Lead.created_at)))
    custom = custom_fields.personal_values(session, "leads", [lead.id for lead in leads])
    tasks = session.scalars(select(Task).where(_their_tasks(subject)).order_by(Task.created_at))
    deals = session.execute(
        select(Deal.name, Deal.amount, Deal.currency, Deal.status, DealContact.role)
        .join(DealContact, DealContact.deal_id == Deal.id)
        .where(DealContact.contact_id == subject.contact_id)
        .order_by(Deal.created_at)
    )
    quotes = session.scalars(
        select(Quote).where(Quote.contact_id == subject.contact_id).order_by(Quote.number, Quote.version)
    )
    return {
        "quotes": [{name: getattr(quote, name) for name in QUOTE_FIELDS} for quote in quotes],
        "leads": [
            {name: getattr(lead, name) for name in LEAD_FIELDS} | {"custom_fields": custom.get(lead.id, {})}
            for lead in leads
        ],
        "tasks": [{name: getattr(task, name) for name in TASK_FIELDS} for task in tasks],
        "deals": [row._asdict() for row in deals],
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    tasks = session.execute(delete(Task).where(_their_tasks(subject))).rowcount
    links = session.execute(delete(DealContact).where(DealContact.contact_id == subject.contact_id)).rowcount
    leads = session.execute(delete(Lead).where(_their_leads(subject))).rowcount
    quotes = session.execute(
        update(Quote)
        .where(Quote.contact_id == subject.contact_id)
        .values(responder_name=None, responder_ip=None, decline_reason=None)
    ).rowcount
    return {"tasks": tasks, "deal_contacts": links, "leads": leads, "quotes": quotes}


def retention_keep(cutoff: datetime) -> list[Select]:
    """Contacts on an open (or recently changed) deal, or with an open (or recent) task."""
    return [
        select(DealContact.contact_id)
        .join(Deal, Deal.id == DealContact.deal_id)
        .where(or_(Deal.status == "open", Deal.updated_at >= cutoff)),
        select(Task.contact_id).where(
            Task.contact_id.is_not(None), or_(Task.status == "open", Task.updated_at >= cutoff)
        ),
    ]
