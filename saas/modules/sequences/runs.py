"""Durable enrolments: enrolling a contact in a sequence, and advancing enrolments step by step (an RQ
job), on the workflow engine's design and clock.

Each step's side effect (a task created, an email put in the outbox), its history row (unique per
enrolment, step and attempt key) and the enrolment's new position are written in one transaction: a
worker killed mid-run leaves all of them or none, so the next run neither repeats a task nor queues an
email twice. Emails leave through the outbox (:mod:`.emails`) only after that transaction commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.db import TenantSession, db
from saas.errors import NotFound
from saas.modules.sequences.definitions import UNITS
from saas.modules.sequences.models import Sequence, SequenceEmail, SequenceEnrolment, SequenceEvent
from saas.modules.switches import is_module_enabled
from saas.modules.workflows import clock
from saas.modules.workflows.runs import queue_advance, writable

log = logging.getLogger(__name__)

ADVANCE_JOB = "saas.modules.sequences.runs.advance_due"
BATCH = 200
LIVE = "status IN ('active', 'paused')"
"""The live enrolments' partial unique index's condition: one per sequence and contact."""
CONSENT_PURPOSE = "email_marketing"
"""The consent a contact must have given to be mailed by a sequence (``may_contact``)."""


def record_event(
    session: Session,
    enrolment: SequenceEnrolment,
    index: int,
    kind: str,
    outcome: str,
    detail: str = "",
    attempt_key: str = "done",
) -> None:
    """Add a line to the enrolment's history (in the caller's transaction)."""
    session.add(
        SequenceEvent(
            enrolment_id=enrolment.id, step_index=index, attempt_key=attempt_key, kind=kind,
            outcome=outcome, detail=detail[:500], at=clock.now(),
        )
    )  # fmt: skip


def once_key() -> str:
    """The attempt key of a history line that is not a step's (a pause, a stop): never a duplicate."""
    return uuid.uuid4().hex


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
        raise NotFound(f"No contact with id {missing[0]}.")
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
            record_event(session, enrolment, 0, "enrolled", "done", "Enrolled.", attempt_key="enrolled")
            created.append(enrolment)
    if created:
        session.flush()
        queue_advance(session, ADVANCE_JOB)
    return created


# --- advancing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a step decided: go on (``next``) or wait until ``until``."""

    action: str
    outcome: str = "done"
    detail: str = ""
    until: datetime | None = None


def advance_due(session: TenantSession, limit: int | None = None) -> dict[str, int]:
    """Job body: advance every due enrolment, a batch per transaction, each enrolment in a savepoint of its
    own (a failing step fails its enrolment, not the batch). Concurrent jobs take disjoint batches (SKIP
    LOCKED). A read-only (lapsed) workspace's enrolments wait: their steps would write."""
    if not writable(session):
        return {"advanced": 0, "read_only": 1}
    advanced = 0
    while limit is None or advanced < limit:
        size = BATCH if limit is None else min(BATCH, limit - advanced)
        batch = session.scalars(
            select(SequenceEnrolment)
            .where(SequenceEnrolment.status == "active", SequenceEnrolment.next_run_at <= clock.now())
            .order_by(SequenceEnrolment.next_run_at)
            .limit(size)
            .with_for_update(skip_locked=True)
        ).all()
        if not batch:
            break
        modules: dict[str, bool] = {}
        for enrolment in batch:
            _advance_one(session, enrolment, modules)
        session.commit()
        advanced += len(batch)
    from saas.modules.sequences.emails import queue_sending

    queue_sending(session)
    return {"advanced": advanced}


def _advance_one(session: TenantSession, enrolment: SequenceEnrolment, modules: dict[str, bool]) -> None:
    savepoint = session.begin_nested()
    index = enrolment.step_index
    try:
        _run_steps(session, enrolment, modules)
        savepoint.commit()
    except Exception as error:
        savepoint.rollback()
        # What this advance did was rolled back with it: the enrolment stays where it was, failed.
        log.exception("sequence enrolment %s failed at step %s", enrolment.id, index)
        kind = enrolment.steps[index]["type"] if index < len(enrolment.steps) else "end"
        record_event(session, enrolment, index, kind, "failed", type(error).__name__, attempt_key=once_key())
        finish(enrolment, "failed", f"Step {index + 1} failed: {type(error).__name__}.")


def finish(enrolment: SequenceEnrolment, status: str, reason: str | None = None) -> None:
    enrolment.status = status
    enrolment.reason = reason
    enrolment.finished_at = clock.now()
    enrolment.next_run_at = None


def _run_steps(session: TenantSession, enrolment: SequenceEnrolment, modules: dict[str, bool]) -> None:
    while enrolment.step_index < len(enrolment.steps):
        index = enrolment.step_index
        step = enrolment.steps[index]
        outcome = STEP_RUNNERS[step["type"]](session, enrolment, step, index, modules)
        if outcome.action == "wait":
            if enrolment.wait_started_at is None:
                record_event(session, enrolment, index, "wait", "waiting", outcome.detail, attempt_key="wait")
                enrolment.wait_started_at = clock.now()
            enrolment.next_run_at = outcome.until
            return
        record_event(session, enrolment, index, step["type"], outcome.outcome, outcome.detail)
        enrolment.wait_started_at = None
        enrolment.step_index = index + 1
        session.flush()
    finish(enrolment, "finished", "Every step was done.")


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


def advance_all_due() -> dict[str, Any]:
    """Periodic: advance due enrolments in every workspace with sequences on (waits that ran out)."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def advance(ref) -> dict[str, int]:
        with tenant_session(ref) as session:
            return advance_due(session)

    return for_each_tenant("sequences.advance", advance, module="sequences").as_dict()
