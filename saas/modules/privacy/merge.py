"""The privacy module's ``merge_records`` hook: a merged contact's consent history and requests follow the
survivor. The ledger stays append-only: the other contact's events are copied (with their original time and
provenance), then, per purpose, the stricter of the two latest states is recorded as a new event — a
withdrawal on either record wins, and a pending grant is not confirmed by the other record's grant."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.modules.core.activities import acting_user_id
from saas.modules.privacy.models import ConsentEvent, PrivacyRequest

STRICTNESS = {"withdrawn": 3, "pending": 2, "granted": 1}
"""The stricter state wins a merge: withdrawn over pending over granted."""


def _latest_per_purpose(session: Session, contact_id: uuid.UUID) -> dict[uuid.UUID, ConsentEvent]:
    query = (
        select(ConsentEvent)
        .where(ConsentEvent.contact_id == contact_id)
        .distinct(ConsentEvent.purpose_id)
        .order_by(ConsentEvent.purpose_id, ConsentEvent.id.desc())
    )
    return {event.purpose_id: event for event in session.scalars(query)}


def _copy(event: ConsentEvent, contact_id: uuid.UUID) -> ConsentEvent:
    """The same event on another contact, with its original time and provenance."""
    names = ("purpose_id", "notice_id", "status", "lawful_basis", "source", "occurred_at", "ip", "user_agent")
    return ConsentEvent(
        contact_id=contact_id, actor=event.actor, **{name: getattr(event, name) for name in names}
    )


def _restate(event: ConsentEvent, contact_id: uuid.UUID, actor: str) -> ConsentEvent:
    """The event's state recorded again, now, by the staff member who merged."""
    return ConsentEvent(
        contact_id=contact_id, purpose_id=event.purpose_id, notice_id=event.notice_id, status=event.status,
        lawful_basis=event.lawful_basis, source="staff", actor=actor,
    )  # fmt: skip


def merge_privacy_records(
    session: Session, kind: str, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> dict[str, int]:
    if kind != "contact":
        return {}
    survivor_latest = _latest_per_purpose(session, survivor_id)
    other_latest = _latest_per_purpose(session, other_id)
    history = list(
        session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == other_id).order_by(ConsentEvent.id)
        )
    )
    session.add_all([_copy(event, survivor_id) for event in history])
    session.flush()  # the copies get their ids (the ledger's order) before the decisions below
    user_id = acting_user_id(session)
    decisions = 0
    for purpose_id, theirs in other_latest.items():
        mine = survivor_latest.get(purpose_id)
        if mine is not None and STRICTNESS[mine.status] > STRICTNESS[theirs.status]:
            # The copied history ends with the other's laxer state: restate the survivor's stricter one.
            session.add(_restate(mine, survivor_id, f"user:{user_id}" if user_id else "system"))
            decisions += 1
    session.flush()
    requests = session.execute(
        update(PrivacyRequest).where(PrivacyRequest.contact_id == other_id).values(contact_id=survivor_id),
        execution_options={"synchronize_session": False},
    ).rowcount
    return {"consent_events": len(history) + decisions, "privacy_requests": requests}
