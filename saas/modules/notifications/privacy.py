"""The notifications module's privacy and merge hooks. Notifications are members' own records of their work,
not data a customer gave; but a notification about a person repeats their name (its label) and what a
colleague wrote about them (its excerpt), so erasing the person deletes those."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from saas.modules.notifications.models import Notification
from saas.modules.registry import DataSubject

TABLE_OF_KIND = {"contact": "contacts", "account": "accounts", "lead": "leads"}


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Notifications about the person's record, or quoting their email, go (idempotent)."""
    about = (Notification.record_type == "contacts") & (Notification.record_id == subject.contact_id)
    quoting = [Notification.excerpt.icontains(subject.email, autoescape=True)] if subject.email else []
    erased = session.execute(delete(Notification).where(or_(about, *quoting))).rowcount
    return {"notifications": erased}


def merge_notifications(
    session: Session, kind: str, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> dict[str, int]:
    """Notifications of a merged-away record lead to its survivor (keyed by type and id, no foreign key)."""
    moved = session.execute(
        update(Notification)
        .where(Notification.record_type == TABLE_OF_KIND.get(kind, kind), Notification.record_id == other_id)
        .values(record_id=survivor_id),
        execution_options={"synchronize_session": False},
    ).rowcount
    return {"notifications": moved}
