"""The shared timeline: what people log (notes, calls, meetings, emails) and what modules record.

A contact's or account's timeline is the single customer view: its own entries, and every entry about a
record (a deal, a ticket...) it has an entry about. Modules link a person to their record with one entry,
so core reads every module's history without knowing a module's tables.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from saas.db import TenantSession
from saas.errors import Conflict, ValidationError
from saas.i18n import Phrase, shown_phrase
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.core.pagination import SortKey
from saas.modules.core.services import RecordService
from saas.modules.registry import registry
from saas.tenants.routing import ACTOR_KEY
from saas.webhooks.events import record_payload

LOGGED_KINDS = ("note", "call", "meeting", "email")
"""What people log by hand."""
SYSTEM_KIND = "system"
"""What the product records (a deal moved, a task done); read-only."""


def acting_user_id(session: TenantSession) -> uuid.UUID | None:
    """The platform user acting in this unit of work; ``None`` for jobs and the CLI."""
    return session.info.get(ACTOR_KEY)


def _timeline_of(column: InstrumentedAttribute, record_id: uuid.UUID) -> ColumnElement[bool]:
    """Entries on a contact/account, and every entry about a record it has an entry about."""
    subjects = select(Activity.subject_type, Activity.subject_id).where(
        column == record_id, Activity.subject_id.is_not(None)
    )
    return or_(column == record_id, tuple_(Activity.subject_type, Activity.subject_id).in_(subjects))


class ActivityService(RecordService[Activity]):
    """Timeline entries, newest first; system entries are history and cannot be changed."""

    newest_first = True

    def sort_keys(self) -> tuple[SortKey, ...]:
        return (
            SortKey(Activity.occurred_at, lambda entry: entry.occurred_at, datetime.fromisoformat),
            SortKey(Activity.id, lambda entry: entry.id, uuid.UUID),
        )

    def filters(
        self,
        *,
        contact_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        subject_type: str | None = None,
        subject_id: uuid.UUID | None = None,
        kind: str | None = None,
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if contact_id is not None:
            conditions.append(_timeline_of(Activity.contact_id, contact_id))
        if account_id is not None:
            conditions.append(_timeline_of(Activity.account_id, account_id))
        if subject_type is not None:
            conditions += [Activity.subject_type == subject_type, Activity.subject_id == subject_id]
        if kind is not None:
            conditions.append(Activity.kind == kind)
        return conditions

    def create(self, session: TenantSession, data: dict[str, Any]) -> Activity:
        """Log an entry; one about a contact also lands on the contact's account's timeline."""
        data = {**data, "actor_user_id": acting_user_id(session)}
        data["occurred_at"] = data.get("occurred_at") or datetime.now(UTC)
        if data.get("contact_id") and not data.get("account_id"):
            contact = session.get(Contact, data["contact_id"])
            data["account_id"] = contact.account_id if contact else None
        entry = super().create(session, data)
        # Modules hear what people log (mentions in a note notify), without a webhook of its own.
        registry.announce(session, "activity.logged", record_payload(entry), {})
        return entry

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Activity:
        self._refuse_system_entry(self.get(session, record_id))
        return super().update(session, record_id, changes)

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        self._refuse_system_entry(self.get(session, record_id))
        super().delete(session, record_id)

    def check(self, session: TenantSession, record: Activity) -> None:
        if record.contact_id is not None and session.get(Contact, record.contact_id) is None:
            raise ValidationError("Unknown contact.", {"contact_id": ["No contact with this id."]})
        if record.account_id is not None and session.get(Account, record.account_id) is None:
            raise ValidationError("Unknown account.", {"account_id": ["No account with this id."]})
        if record.contact_id is None and record.account_id is None and record.subject_id is None:
            raise ValidationError(
                "An activity belongs on a timeline.",
                {"contact_id": ["Choose the contact, account or deal this activity is about."]},
            )

    @staticmethod
    def _refuse_system_entry(entry: Activity) -> None:
        if entry.kind == SYSTEM_KIND:
            raise Conflict("This entry records what happened in the system; it cannot be changed or removed.")


activities = ActivityService(Activity, "activity", search=(Activity.subject, Activity.body))


def record_event(
    session: TenantSession,
    subject: str | Phrase,
    *,
    body: str | Phrase | None = None,
    contact_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
) -> Activity:
    """Put a system entry on the timeline (a module's event); the caller vouches for the links. Written as
    :class:`Phrase` s, the subject and body are shown in each reader's language; the entry keeps their
    English text too (what the API, search and exports read)."""
    written = (("subject", subject), ("body", body))
    phrases = {part: value.stored() for part, value in written if isinstance(value, Phrase)}
    entry = Activity(
        kind=SYSTEM_KIND,
        subject=_english(subject)[:200],
        body=_english(body),
        phrases=phrases or None,
        # Python's clock, not the transaction's now(): events of one request keep their order.
        occurred_at=datetime.now(UTC),
        contact_id=contact_id,
        account_id=account_id,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_user_id=acting_user_id(session),
    )
    session.add(entry)
    return entry


def _english(text: str | Phrase | None) -> str | None:
    return text.english() if isinstance(text, Phrase) else text


def shown_entry_text(entry: Activity, part: str) -> str | None:
    """An entry's ``subject`` or ``body`` as the reader reads it: its phrase translated, else as stored."""
    return shown_phrase((entry.phrases or {}).get(part), getattr(entry, part))
