"""What the core module holds on a person, and how it erases them (privacy registry hooks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from saas.modules.core import custom_fields
from saas.modules.core.models import Activity, Contact
from saas.modules.registry import DataSubject

CONTACT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "notes",
    "created_at",
    "updated_at",
)
ACTIVITY_FIELDS = ("kind", "subject", "body", "occurred_at")


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
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Delete the contact and their timeline (other modules' rows cascade or erase themselves)."""
    activities = session.execute(delete(Activity).where(Activity.contact_id == subject.contact_id)).rowcount
    contacts = session.execute(delete(Contact).where(Contact.id == subject.contact_id)).rowcount
    return {"activities": activities, "contacts": contacts}


def retention_keep(cutoff: datetime) -> list[Select]:
    """Contacts changed, or with timeline activity, since the cutoff."""
    return [
        select(Contact.id).where(Contact.updated_at >= cutoff),
        select(Activity.contact_id).where(Activity.contact_id.is_not(None), Activity.occurred_at >= cutoff),
    ]
