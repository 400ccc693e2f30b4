"""What ends or holds an enrolment besides its last step: the contact replied (inbound mail on the thread of
a sequence email), booked a meeting through a booking link, or withdrew consent to email (heard through
the registry's event listeners: the mailbox, meetings and privacy modules emit, and know nothing of
sequences); or a person paused, resumed or stopped it. Each is a line in the enrolment's history."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saas.automation import clock
from saas.automation.runs import finish, once_key
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound
from saas.i18n import N_
from saas.modules.sequences.models import LIVE_STATUSES, SequenceEmail, SequenceEnrolment
from saas.modules.sequences.runs import CONSENT_PURPOSE, RUNS, queue_advance
from saas.modules.switches import is_module_enabled

_ENABLED = "sequences_module_on"
STOP_EVENTS = ("mail.received", "meeting.booked", "consent.withdrawn")
REASONS = {
    "replied": "The contact replied.",
    "booked": "The contact booked a meeting.",
    "unsubscribed": "The contact withdrew consent to email.",
    "stopped": "Stopped by a person.",
}


def _end(session: Session, enrolments: list[SequenceEnrolment], status: str, detail: str) -> int:
    for enrolment in enrolments:
        RUNS.record_line(
            session, enrolment, enrolment.step_index, "stop", status, detail, once_key(), now=True
        )
        finish(enrolment, status, REASONS[status])
    return len(enrolments)


def _live(session: Session, *where: Any) -> list[SequenceEnrolment]:
    # Locked: an advance running now finishes its step first, then sees the enrolment ended.
    return list(
        session.scalars(
            select(SequenceEnrolment)
            .where(SequenceEnrolment.status.in_(LIVE_STATUSES), *where)
            .with_for_update()
        )
    )


def stop_for_reply(session: Session, thread_id: Any, thread_keys: list[str], sender: str) -> int:
    """End the enrolments one of whose emails the inbound message answers (same mail thread, or it names
    the email's Message-ID)."""
    matches = [SequenceEmail.mail_thread_id == uuid.UUID(str(thread_id))] if thread_id else []
    if thread_keys:
        matches.append(SequenceEmail.message_id_header.in_(thread_keys))
    if not matches:
        return 0
    answered = select(SequenceEmail.enrolment_id).where(SequenceEmail.status == "sent", or_(*matches))
    return _end(
        session, _live(session, SequenceEnrolment.id.in_(answered)), "replied", f"Reply from {sender}."[:500]
    )


def stop_for_contact(session: Session, contact_id: Any, status: str, detail: str) -> int:
    """End every live enrolment of a contact (a booking, a withdrawn consent)."""
    return _end(
        session, _live(session, SequenceEnrolment.contact_id == uuid.UUID(str(contact_id))), status, detail
    )


def on_event(
    session: Session, event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]
) -> None:
    """The module's event listener: the stops other modules announce."""
    if event not in STOP_EVENTS or not isinstance(session, TenantSession):
        return
    if _ENABLED not in session.info:
        session.info[_ENABLED] = is_module_enabled(db.session, session.tenant.id, "sequences")
    if not session.info[_ENABLED]:
        return
    if event == "mail.received":
        stop_for_reply(
            session, payload.get("thread_id"), payload.get("thread_keys") or [], payload.get("from", "")
        )
    elif event == "meeting.booked" and payload.get("contact_id"):
        stop_for_contact(
            session, payload["contact_id"], "booked", "A meeting was booked through a booking link."
        )
    elif (
        event == "consent.withdrawn"
        and payload.get("purpose") == CONSENT_PURPOSE
        and payload.get("contact_id")
    ):
        stop_for_contact(session, payload["contact_id"], "unsubscribed", "Consent to email was withdrawn.")


# --- by hand -------------------------------------------------------------------------------------------


def get_enrolment(
    session: TenantSession, enrolment_id: uuid.UUID, *, lock: bool = False
) -> SequenceEnrolment:
    # Locked and read again: a stop or an advance that committed meanwhile is seen.
    enrolment = session.get(
        SequenceEnrolment, enrolment_id, with_for_update=lock or None, populate_existing=lock
    )
    if enrolment is None:
        raise NotFound(N_("No enrolment with id %(id)s.", id=enrolment_id))
    return enrolment


ACTIONS = ("pause", "resume", "stop")
# Whole sentences, one per action, so the page can show the refusal in the reader's language.
REFUSED = {
    "pause": N_("Only an active enrolment can be paused."),
    "resume": N_("Only a paused enrolment can be resumed."),
    "stop": N_("This enrolment has ended already: it cannot be stopped."),
}


def change_enrolment(session: TenantSession, enrolment_id: uuid.UUID, action: str) -> SequenceEnrolment:
    """Pause, resume or stop an enrolment by hand; a Conflict when it is not in a state that allows it."""
    enrolment = get_enrolment(session, enrolment_id, lock=True)
    if action == "pause" and enrolment.status == "active":
        enrolment.status = "paused"
        RUNS.record_line(
            session,
            enrolment,
            enrolment.step_index,
            "paused",
            "paused",
            "Paused by a person.",
            once_key(),
            now=True,
        )
    elif action == "resume" and enrolment.status == "paused":
        enrolment.status = "active"
        # A wait still running keeps its end (one that ran out while paused is due at once).
        enrolment.next_run_at = (enrolment.wait_started_at and enrolment.next_run_at) or clock.now()
        RUNS.record_line(
            session,
            enrolment,
            enrolment.step_index,
            "resumed",
            "resumed",
            "Resumed by a person.",
            once_key(),
            now=True,
        )
        queue_advance(session)
    elif action == "stop" and enrolment.status in LIVE_STATUSES:
        _end(session, [enrolment], "stopped", "Stopped by a person.")
    else:
        raise Conflict(REFUSED[action])
    session.flush()
    return enrolment
