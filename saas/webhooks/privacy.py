"""What the webhook delivery log holds on a person, and their erasure from it.

Delivery payloads copy records (a contact's name and email...). The log is a log: entries naming the
person are deleted, not anonymised. Entries older than ``LOG_DAYS`` are purged anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from saas.modules.registry import DataSubject
from saas.webhooks.models import WebhookDelivery

LOG_DAYS = 30


def _mentions(subject: DataSubject):
    text = cast(WebhookDelivery.payload, Text)
    conditions = [text.contains(str(subject.contact_id))]
    if subject.email:
        conditions.append(text.ilike(f"%{_escape_like(subject.email)}%", escape="\\"))
    return or_(*conditions)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def personal_data(session: Session, subject: DataSubject) -> dict:
    deliveries = session.scalars(select(WebhookDelivery).where(_mentions(subject))).all()
    return {
        "webhook_deliveries": [
            {"id": str(d.id), "event": d.event, "created_at": d.created_at.isoformat(), "payload": d.payload}
            for d in deliveries
        ]
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    return {"webhook_deliveries": session.execute(delete(WebhookDelivery).where(_mentions(subject))).rowcount}


def purge_old_deliveries(session: Session, now: datetime | None = None) -> int:
    """Delete log entries older than ``LOG_DAYS`` that are finished (data minimisation)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=LOG_DAYS)
    finished = WebhookDelivery.status.in_(("succeeded", "failed", "skipped"))
    return session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.created_at < cutoff, finished)
    ).rowcount
