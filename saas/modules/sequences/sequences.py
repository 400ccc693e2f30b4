"""Sequences as people edit them (page and API): list, read, create, change, delete; their enrolments with
each one's history, a contact's enrolments, and the counts per salesperson."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from saas.auth.services import is_member
from saas.automation.runs import counts_by_status
from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.sequences.definitions import clean_sequence
from saas.modules.sequences.models import Sequence, SequenceEnrolment, SequenceEvent
from saas.modules.sequences.runs import enrol

HISTORY_LIMIT = 200


def list_sequences(session: TenantSession) -> list[Sequence]:
    return list(session.scalars(select(Sequence).order_by(Sequence.name, Sequence.id)))


def get_sequence(session: TenantSession, sequence_id: uuid.UUID) -> Sequence:
    sequence = session.get(Sequence, sequence_id)
    if sequence is None:
        raise NotFound(N_("No sequence with id %(id)s.", id=sequence_id))
    return sequence


def _check_owner(session: TenantSession, owner: uuid.UUID | None) -> None:
    if owner is not None and not is_member(db.session, session.tenant.id, owner):
        raise ValidationError(
            "Please correct the sequence.", {"owner_user_id": ["Not a member of this workspace."]}
        )


def create_sequence(session: TenantSession, data: dict[str, Any], *, user_id: uuid.UUID | None) -> Sequence:
    clean = clean_sequence({"owner_user_id": user_id, **data})
    _check_owner(session, clean["owner_user_id"])
    sequence = Sequence(id=uuid.uuid4(), **clean)
    session.add(sequence)
    session.flush()
    return sequence


def update_sequence(session: TenantSession, sequence_id: uuid.UUID, data: dict[str, Any]) -> Sequence:
    """Change a sequence; enrolments under way keep the steps they started with."""
    sequence = get_sequence(session, sequence_id)
    current = {"name": sequence.name, "owner_user_id": sequence.owner_user_id, "steps": sequence.steps}
    clean = clean_sequence({**current, **data})
    _check_owner(session, clean["owner_user_id"])
    for key, value in clean.items():
        setattr(sequence, key, value)
    session.flush()
    return sequence


def delete_sequence(session: TenantSession, sequence_id: uuid.UUID) -> None:
    session.delete(get_sequence(session, sequence_id))
    session.flush()


def enrol_contacts(
    session: TenantSession,
    sequence_id: uuid.UUID,
    contact_ids: Collection[uuid.UUID],
    user_id: uuid.UUID | None,
) -> list[SequenceEnrolment]:
    """Enrol contacts for the salesperson ``user_id`` (else the sequence's owner); returns the new ones."""
    return enrol(session, get_sequence(session, sequence_id), contact_ids, user_id)


@dataclass(frozen=True)
class EnrolmentView:
    """One enrolment with its history, oldest line first."""

    enrolment: SequenceEnrolment
    sequence_name: str
    events: list[SequenceEvent] = field(default_factory=list)
    contact_name: str = ""


def _enrolments(session: TenantSession, *conditions: Any) -> list[EnrolmentView]:
    from saas.modules.core.models import Contact

    rows = session.execute(
        select(SequenceEnrolment, Sequence.name, Contact.first_name, Contact.last_name, Contact.email)
        .join(Sequence, Sequence.id == SequenceEnrolment.sequence_id)
        .join(Contact, Contact.id == SequenceEnrolment.contact_id)
        .where(*conditions)
        .order_by(SequenceEnrolment.enrolled_at.desc(), SequenceEnrolment.id)
        .limit(HISTORY_LIMIT)
    ).all()
    events: dict[uuid.UUID, list[SequenceEvent]] = {row[0].id: [] for row in rows}
    for event in session.scalars(
        select(SequenceEvent).where(SequenceEvent.enrolment_id.in_(events)).order_by(SequenceEvent.id)
    ):
        events[event.enrolment_id].append(event)
    return [
        EnrolmentView(
            enrolment, name, events[enrolment.id], " ".join(filter(None, (first, last))) or email or ""
        )
        for enrolment, name, first, last, email in rows
    ]


def enrolments_of_sequence(session: TenantSession, sequence_id: uuid.UUID) -> list[EnrolmentView]:
    return _enrolments(session, SequenceEnrolment.sequence_id == get_sequence(session, sequence_id).id)


def enrolments_of_contact(session: TenantSession, contact_id: uuid.UUID) -> list[EnrolmentView]:
    return _enrolments(session, SequenceEnrolment.contact_id == contact_id)


COUNTED = ("enrolled", "active", "paused", "finished", "replied", "booked", "unsubscribed", "stopped")


@dataclass(frozen=True)
class SalespersonCounts:
    """One salesperson's enrolments in a sequence by outcome (``enrolled``: all of them)."""

    user_id: uuid.UUID | None
    counts: dict[str, int]


def counts_by_salesperson(session: TenantSession, sequence_id: uuid.UUID) -> list[SalespersonCounts]:
    """Per salesperson who enrolled contacts in the sequence: enrolled, and how many are in each state
    (``stopped`` counts those stopped by hand and those that failed)."""
    per_user: dict[uuid.UUID | None, dict[str, int]] = {}
    for user_id, status, count in session.execute(
        select(SequenceEnrolment.user_id, SequenceEnrolment.status, func.count())
        .where(SequenceEnrolment.sequence_id == get_sequence(session, sequence_id).id)
        .group_by(SequenceEnrolment.user_id, SequenceEnrolment.status)
    ):
        counts = per_user.setdefault(user_id, dict.fromkeys(COUNTED, 0))
        counts["enrolled"] += count
        counts["stopped" if status == "failed" else status] += count
    return [SalespersonCounts(user_id, counts) for user_id, counts in per_user.items()]


def enrolment_counts(session: TenantSession) -> dict[uuid.UUID, dict[str, int]]:
    """Per sequence, its enrolments by status (the list page)."""
    return counts_by_status(session, SequenceEnrolment.sequence_id)


def events_of(session: TenantSession, enrolment_id: uuid.UUID) -> list[SequenceEvent]:
    return list(
        session.scalars(
            select(SequenceEvent).where(SequenceEvent.enrolment_id == enrolment_id).order_by(SequenceEvent.id)
        )
    )
