"""Merging in the sales module: leads as a mergeable kind, and the ``merge_records`` hook that moves deals,
deal contacts, tasks and conversion links from a merged contact, account or lead to its survivor."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.core.duplicates import Duplicate, find_matches, person_signals
from saas.modules.core.merge import Elsewhere, MergeField, MergeKind, register_merge_kind
from saas.modules.core.models import Contact
from saas.modules.core.normalise import company_key
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Deal, DealContact, Lead, Task

_PLAIN = {"synchronize_session": False}


def _repoint(session: Session, column: Any, survivor_id: uuid.UUID, other_id: uuid.UUID) -> int:
    statement = update(column.class_).where(column == other_id).values({column.key: survivor_id})
    return session.execute(statement, execution_options=_PLAIN).rowcount


def merge_sfa_records(
    session: Session, kind: str, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> dict[str, int]:
    if kind == "contact":
        # A deal already linked to the survivor keeps the survivor's link (and role); the other's goes.
        both = select(DealContact.deal_id).where(DealContact.contact_id == survivor_id)
        session.execute(
            delete(DealContact).where(DealContact.contact_id == other_id, DealContact.deal_id.in_(both)),
            execution_options=_PLAIN,
        )
        return {
            "deal_contacts": _repoint(session, DealContact.contact_id, survivor_id, other_id),
            "tasks": _repoint(session, Task.contact_id, survivor_id, other_id),
            "leads": _repoint(session, Lead.converted_contact_id, survivor_id, other_id),
        }
    if kind == "account":
        return {
            "deals": _repoint(session, Deal.account_id, survivor_id, other_id),
            "tasks": _repoint(session, Task.account_id, survivor_id, other_id),
            "leads": _repoint(session, Lead.converted_account_id, survivor_id, other_id),
        }
    if kind == "lead":
        return {"tasks": _repoint(session, Task.lead_id, survivor_id, other_id)}
    return {}


def _refuse_lead_pair(survivor: Lead, other: Lead) -> str | None:
    if other.status == "converted" and survivor.status != "converted":
        return "A converted lead keeps its conversion: merge the other lead into it instead."
    if other.status == "converted":
        return "Both leads were converted; merge the contacts they became instead."
    return None


LEAD_SIGNALS = person_signals(Lead, company_key(Lead.company))
# A lead and a contact compare by email, phone, and name with email domain; "same company" compares a lead's
# company name with a contact's account id, which share no key.
_CROSS = ("same email", "same phone", "similar name, same email domain")
_LEAD_TO_CONTACT = (
    tuple(signal for signal in LEAD_SIGNALS if signal.reason in _CROSS),
    tuple(signal for signal in person_signals(Contact, Contact.account_id) if signal.reason in _CROSS),
)


def existing_contacts(session: Session, lead_id: uuid.UUID) -> list[Duplicate]:
    """Contacts likely to be the person a lead is about (before converting it, say)."""
    lead_signals, contact_signals = _LEAD_TO_CONTACT
    return find_matches(
        session, (Lead, lead_signals), (Contact, contact_signals), lambda c: c.display_name, lead_id
    )


LEAD_KIND = register_merge_kind(
    MergeKind(
        key="lead",
        service=leads,
        merged_message=N_("Merged %(name)s into this lead"),
        fields=(
            MergeField("first_name", "First name"),
            MergeField("last_name", "Last name"),
            MergeField("email", "Email"),
            MergeField("phone", "Phone"),
            MergeField("company", "Company"),
            MergeField("title", "Job title"),
            MergeField("source", "Source"),
            MergeField("notes", "Notes"),
        ),
        signals=LEAD_SIGNALS,
        describe=lambda lead: (
            " ".join(p for p in (lead.first_name, lead.last_name) if p) or (lead.email or "")
        ),
        timeline=lambda lead: {"subject_type": "lead", "subject_id": lead.id},
        refuse=_refuse_lead_pair,
        elsewhere=(Elsewhere("contact", "core.show_contacts", existing_contacts),),
    )
)
