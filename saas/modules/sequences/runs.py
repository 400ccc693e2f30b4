"""Durable enrolments of contacts in sequences on the automation engine (:mod:`saas.automation.runs`):
enrolling, and what each step does (an email put in the outbox, a task for the salesperson, a wait).

Each step's side effect (a task created, an email put in the outbox), its history row (unique per
enrolment, step and attempt key) and the enrolment's new position are written in one transaction: a
worker killed mid-run leaves all of them or none, so the next run neither repeats a task nor queues an
email twice. Emails leave through the outbox (:mod:`.emails`) only after that transaction commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.automation import clock
from saas.automation.runs import Automation, Outcome, once_key
from saas.db import TenantSession, db
from saas.errors import NotFound
from saas.i18n import N_
from saas.modules.sequences.definitions import UNITS
from saas.modules.sequences.models import Sequence, SequenceEmail, SequenceEnrolment, SequenceEvent
from saas.modules.switches import is_module_enabled

log = logging.getLogger(__name__)

ADVANCE_JOB = "saas.modules.sequences.runs.advance_due"
LIVE = "status IN ('active', 'paused')"
"""The live enrolments' partial unique index's condition: one per sequence and contact."""
CONSENT_PURPOSE = "email_marketing"
"""The consent a contact must have given to be mailed by a sequence (``may_contact``)."""


class SequenceRuns(Automation):
    """Sequences on the engine: steps by type, the module switches read once per batch, a failed step's
    history line under a key of its own, ``finished`` at the end."""

    module = "sequences"
    enrolments = SequenceEnrolment
    history = SequenceEvent
    advance_job = ADVANCE_JOB
    noun = "sequence enrolment"
    done_status = "finished"
    done_reason = "Every step was done."

    def prepare(self, session: TenantSession, batch: list[Any]) -> dict[str, bool]:
        return {}  # which modules are on, read when a step first asks

    def execute(
        self, session: TenantSession, run: dict[str, bool], enrolment: Any, step: dict[str, Any], index: int
    ) -> Outcome:
        return STEP_RUNNERS[step["type"]](session, enrolment, step, index, run)

    def failure_key(self) -> str:
        return once_key()

    def queue_sending(self, session: TenantSession) -> None:
        from saas.modules.sequences.emails import OUTBOX

        OUTBOX.queue_sending(session)


RUNS = SequenceRuns()


def queue_advance(session: Session) -> None:
    """Advance due enrolments in a job once ``session`` commits (queued once per transaction)."""
    RUNS.queue_advance(session)


# --- enrolling -----------------------------------------------------------------------------------------


def enrol(
    session: TenantSession, sequence: Sequence, contact_ids: Collection[uuid.UUID], user_id: uuid.UUID | None
) -> list[SequenceEnrolment]:
    """Enrol contacts in ``sequence`` for the salesperson ``user_id`` (the sequence's owner when None);
    those already in it (active or paused) are left as they are. Returns the new enrolments."""
    from saas.modules.core.models import Contact

    wanted = list(dict.fromkeys(uuid.UUID(str(contact_id)) for contact_id in contact_ids))
    found = set(session.scalars(select(Contact.id).where(Contact.id.in_(wanted))))
    missing = [contact_id for contact_id in wanted if contact_id not in found]
    if missing:
        raise NotFound(N_("No contact with id %(id)s.", id=missing[0]))
    now = clock.now()
    created = []
    for contact_id in wanted:
        enrolment_id = session.scalar(
            insert(SequenceEnrolment)
            .values(
                id=uuid.uuid4(), sequence_id=sequence.id, contact_id=contact_id,
                user_id=user_id or sequence.owner_user_id, steps=sequence.steps, status="active",
                step_index=0, next_run_at=now, enrolled_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["sequence_id", "contact_id"], index_where=text(LIVE)
            )
            .returning(SequenceEnrolment.id)
        )  # fmt: skip
        if enrolment_id is not None:
            enrolment = session.get(SequenceEnrolment, enrolment_id)
            RUNS.record_line(session, enrolment, 0, "enrolled", "done", "Enrolled.", "enrolled", now=True)
            created.append(enrolment)
    if created:
        session.flush()
        queue_advance(session)
    return created


# --- the steps -----------------------------------------------------------------------------------------


def _module_on(session: TenantSession, key: str, modules: dict[str, bool]) -> bool:
    if key not in modules:
        modules[key] = is_module_enabled(db.session, session.tenant.id, key)
    return modules[key]


def _email(
    session: TenantSession, enrolment: SequenceEnrolment, step: dict[str, Any], index: int, modules: dict
) -> Outcome:
    from saas.modules.core.models import Contact
    from saas.modules.marketing.content import merge, merge_values
    from saas.modules.privacy.consent import may_contact

    contact = session.get(Contact, enrolment.contact_id)
    if contact is None or not contact.email:
        return Outcome("next", "skipped", "Skipped: the contact has no email address.")
    if not may_contact(session, contact.id, CONSENT_PURPOSE):
        return Outcome("next", "skipped", "Skipped: the contact has not agreed to be emailed.")
    values = merge_values(contact)
    session.add(
        SequenceEmail(
            enrolment_id=enrolment.id, step_index=index, contact_id=contact.id, user_id=enrolment.user_id,
            email=contact.email, subject=merge(step["subject"], values, html=False),
            body=merge(step["body"], values, html=False), status="queued", attempts=0,
        )
    )  # fmt: skip
    return Outcome("next", "done", f"Email queued to {contact.email}.")


def _task(
    session: TenantSession, enrolment: SequenceEnrolment, step: dict[str, Any], index: int, modules: dict
) -> Outcome:
    if not _module_on(session, "sfa", modules):
        return Outcome("next", "skipped", "Skipped: the sales module is switched off.")
    from saas.modules.sfa.tasks import tasks

    sequence = session.get(Sequence, enrolment.sequence_id)
    task = tasks.create(
        session,
        {
            "title": step["title"],
            "assignee_user_id": enrolment.user_id,
            "due_at": clock.now() + timedelta(days=step.get("due_days", 0)),
            "contact_id": enrolment.contact_id,
            "notes": f"From the sequence “{sequence.name if sequence else ''}”.",
        },
    )
    return Outcome("next", "done", f"Task “{task.title}” created.")


def _wait(
    session: TenantSession, enrolment: SequenceEnrolment, step: dict[str, Any], index: int, modules: dict
) -> Outcome:
    started = enrolment.wait_started_at or clock.now()
    until = started + timedelta(minutes=step["amount"] * UNITS[step["unit"]])
    if clock.now() >= until:
        return Outcome("next", "done", "Waited until " + until.isoformat(timespec="minutes") + ".")
    return Outcome("wait", detail=f"Waiting until {until.isoformat(timespec='minutes')}.", until=until)


STEP_RUNNERS = {"email": _email, "task": _task, "wait": _wait}


def advance_due(session: TenantSession, limit: int | None = None) -> dict[str, int]:
    """Job body (RQ path :data:`ADVANCE_JOB`): advance every due enrolment (the engine's advance)."""
    return RUNS.advance_due(session, limit)


def advance_all_due() -> dict[str, Any]:
    """Periodic: advance due enrolments in every workspace with sequences on (waits that ran out)."""
    return RUNS.advance_all_due()
