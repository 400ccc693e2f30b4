"""What the core module holds on a person, and how it erases them (privacy registry hooks)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from saas.api.idempotency import forget_answers_about
from saas.modules.core import custom_fields, imports, objects
from saas.modules.core.models import Activity, Contact, CustomField
from saas.modules.core.vendor_imports.service import erase_from_vendor_imports
from saas.modules.registry import DataSubject

CONTACT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "notes",
    # Scores are profiling: the person sees them and the points behind them (scoring.py).
    "rule_score",
    "score_factors",
    "created_at",
    "updated_at",
)
ACTIVITY_FIELDS = ("kind", "subject", "body", "occurred_at")
MAX_RELATED = 10_000
"""Records per relation in a person's copy: far more than one person's vehicles or contracts."""


def personal_data(session: Session, subject: DataSubject) -> dict:
    contact = session.get(Contact, subject.contact_id)
    if contact is None:
        return {}
    activities = session.scalars(
        select(Activity).where(Activity.contact_id == contact.id).order_by(Activity.occurred_at, Activity.id)
    )
    custom = custom_fields.personal_values(session, "contacts", [contact.id]).get(contact.id, {})
    return {
        "contact": {name: getattr(contact, name) for name in CONTACT_FIELDS} | {"custom_fields": custom},
        "account": contact.account.name if contact.account else None,
        "activities": [{name: getattr(a, name) for name in ACTIVITY_FIELDS} for a in activities],
        "related_records": _related_records(session, contact.id),
    }


def _references_to_contacts(session: Session) -> list[CustomField]:
    """Reference fields of any record type pointing at contacts, deleted ones too: their values are held
    until a purge."""
    fields = session.scalars(
        select(CustomField).where(CustomField.field_type == "reference", CustomField.reference == "contacts")
    )
    return [d for d in fields if custom_fields.is_column_name(d.column_name)]


def _related_records(session: Session, contact_id: uuid.UUID) -> dict[str, list[dict]]:
    """Custom objects' records whose relation points at the person: their name and values, by object."""
    related: dict[str, list[dict]] = {}
    for definition in _references_to_contacts(session):
        if not objects.is_object_table(definition.entity):
            continue  # a built-in record's module hands over that record itself
        ids = custom_fields.ids_pointing_at(session, definition, contact_id, MAX_RELATED)
        names = objects.record_names(session, definition.entity, ids)
        values = custom_fields.personal_values(session, definition.entity, ids)
        related.setdefault(definition.entity, []).extend(
            {"id": record_id, "name": names.get(record_id), "relation": definition.label,
             "custom_fields": values.get(record_id, {})}
            for record_id in ids
        )  # fmt: skip
    return related


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Delete the contact and their timeline (other modules' rows cascade or erase themselves), and clear
    every relation (reference field) that still points at them."""
    activities = session.execute(delete(Activity).where(Activity.contact_id == subject.contact_id)).rowcount
    contacts = session.execute(delete(Contact).where(Contact.id == subject.contact_id)).rowcount
    cleared = sum(
        custom_fields.clear_references(session, definition, subject.contact_id)
        for definition in _references_to_contacts(session)
    )
    return {
        "activities": activities,
        "contacts": contacts,
        "relations_cleared": cleared,
        **imports.erase_from_imports(session, subject),
        **erase_from_vendor_imports(session, subject),
        # The API's kept answers (a day's retry window) may show the person as created or changed.
        "api_answers": forget_answers_about(session, [str(subject.contact_id), subject.email or ""]),
    }


def retention_keep(cutoff: datetime) -> list[Select]:
    """Contacts changed, or with timeline activity, since the cutoff."""
    return [
        select(Contact.id).where(Contact.updated_at >= cutoff),
        select(Activity.contact_id).where(Activity.contact_id.is_not(None), Activity.occurred_at >= cutoff),
    ]
