"""Durable runs: enrolling a record in a workflow, and advancing enrolments step by step (an RQ job).

Each step's side effect, the step's history row (unique per enrolment, step and attempt key) and the
enrolment's new position are written in one transaction: a worker killed mid-run leaves either all of
them or none, so the next run neither repeats a created task nor queues an email twice. Emails leave
through an outbox (:mod:`.emails`) only after that transaction commits.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.db import TenantSession, db
from saas.jobs import enqueue_after_commit
from saas.modules.registry import RecordType, registry
from saas.modules.workflows import clock
from saas.modules.workflows.models import Workflow, WorkflowEnrolment, WorkflowStepRun

log = logging.getLogger(__name__)

ADVANCE_JOB = "saas.modules.workflows.runs.advance_due"
CHAIN = "workflow_chain"
"""``session.info`` key: the run chain of the step being executed, read by triggers it causes."""
_QUEUED = "workflow_advance_queued"
_HISTORY = "workflow_history"
_STEP = "workflow_step"
BATCH = 200


def config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def run_key(workflow_id: uuid.UUID, record_id: uuid.UUID) -> str:
    return f"{workflow_id}:{record_id}"


def writable(session: TenantSession) -> bool:
    """Whether the workspace may write (not read-only for an unpaid subscription)."""
    from saas.billing.entitlements import entitlements_for

    return entitlements_for(db.session, session.tenant.id).can_write


def queue_advance(session: Session, job: str = ADVANCE_JOB) -> None:
    """Advance due enrolments in a job once ``session`` commits (queued once per transaction); ``job``:
    another engine's advancing job (sequences run on the same design)."""
    flag = f"{_QUEUED}:{job}"
    if not session.info.get(flag):
        session.info[flag] = True
        enqueue_after_commit(session, job)

        from sqlalchemy import event

        event.listen(session, "after_commit", lambda s: s.info.pop(flag, None), once=True)
        event.listen(session, "after_rollback", lambda s: s.info.pop(flag, None), once=True)


def record_step(
    session: Session,
    enrolment: WorkflowEnrolment,
    index: int,
    kind: str,
    outcome: str,
    detail: str = "",
    attempt_key: str = "done",
) -> None:
    """Add a step's history row to the batch's (written by :func:`write_history` before the batch
    commits, in its transaction: one INSERT for the batch instead of one per step)."""
    session.info.setdefault(_HISTORY, []).append(
        {
            "enrolment_id": enrolment.id, "step_index": index, "attempt_key": attempt_key, "kind": kind,
            "outcome": outcome, "detail": detail[:500], "at": clock.now(),
        }
    )  # fmt: skip


def write_history(session: Session) -> None:
    """Insert the buffered history rows; a row whose (run, step, attempt key) exists is left out."""
    rows = session.info.pop(_HISTORY, None)
    if rows:
        session.execute(
            insert(WorkflowStepRun).on_conflict_do_nothing(
                index_elements=["enrolment_id", "step_index", "attempt_key"]
            ),
            rows,
        )


# --- enrolling -----------------------------------------------------------------------------------------


def enrol(
    session: TenantSession,
    workflow: Workflow,
    record_type: str,
    record_id: uuid.UUID,
    contact_id: uuid.UUID | None,
    event: str,
) -> WorkflowEnrolment | None:
    """Start ``workflow`` for a record (its conditions already hold); None when it runs for it already.

    Refused, with the reason kept as a ``refused`` or ``stopped`` row, past the hourly limit or when a
    step of a run in this chain caused it (a loop)."""
    chain = list(session.info.get(CHAIN, ()))
    now = clock.now()
    base = {
        "workflow_id": workflow.id, "version": workflow.version, "steps": workflow.steps,
        "record_type": record_type, "record_id": record_id, "contact_id": contact_id,
        "chain": chain, "trigger_event": event[:100], "enrolled_at": now, "step_index": 0,
    }  # fmt: skip
    if run_key(workflow.id, record_id) in chain:
        reason = "Loop stopped: a step of this workflow's own run triggered it again for the same record."
        return _closed(session, base, "stopped", reason)
    limit = config_int("WORKFLOW_ENROLMENTS_PER_HOUR", 10000)
    recent = session.scalar(
        select(func.count())
        .select_from(WorkflowEnrolment)
        .where(
            WorkflowEnrolment.enrolled_at > now - timedelta(hours=1), WorkflowEnrolment.status != "refused"
        )
    )
    if recent >= limit:
        return _closed(
            session, base, "refused", f"The workspace's limit of {limit} enrolments an hour was reached."
        )
    enrolment_id = session.scalar(
        insert(WorkflowEnrolment)
        .values(id=uuid.uuid4(), status="active", next_run_at=now, **base)
        .on_conflict_do_nothing(
            index_elements=["workflow_id", "record_id"], index_where=text("status = 'active'")
        )
        .returning(WorkflowEnrolment.id)
    )
    if enrolment_id is None:
        return None
    queue_advance(session)
    return session.get(WorkflowEnrolment, enrolment_id)


def _closed(session: Session, base: dict[str, Any], status: str, reason: str) -> WorkflowEnrolment:
    enrolment = WorkflowEnrolment(
        id=uuid.uuid4(), status=status, reason=reason, finished_at=base["enrolled_at"], **base
    )
    session.add(enrolment)
    session.flush()
    log.info("workflow %s not started for a record: %s", base["workflow_id"], status)
    return enrolment


# --- advancing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a step decided: go on (``next``), jump (``goto``), wait until ``until``, or ``stop``."""

    action: str
    outcome: str = "done"
    detail: str = ""
    goto: int | None = None
    until: datetime | None = None


def advance_due(session: TenantSession, limit: int | None = None) -> dict[str, int]:
    """Job body: advance every due enrolment, a batch per transaction. Concurrent jobs take disjoint
    batches (SKIP LOCKED). A batch runs straight through; if a step raises, the batch is rolled back and
    run again with each enrolment in a savepoint of its own, so that one failing step fails its run, not
    the batch. A read-only (lapsed) workspace's runs wait: their steps would write."""
    if not writable(session):
        return {"advanced": 0, "read_only": 1}
    advanced = 0
    due = (WorkflowEnrolment.status == "active", WorkflowEnrolment.next_run_at <= clock.now())
    while limit is None or advanced < limit:
        size = BATCH if limit is None else min(BATCH, limit - advanced)
        ids = session.scalars(
            select(WorkflowEnrolment.id)
            .where(*due)
            .order_by(WorkflowEnrolment.next_run_at)
            .limit(size)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            break
        try:
            _advance_batch(session, ids, isolated=False)
        except Exception:
            session.rollback()
            session.info.pop(_HISTORY, None)
            # Locked again (another job may have taken some meanwhile: it runs those).
            ids = session.scalars(
                select(WorkflowEnrolment.id)
                .where(WorkflowEnrolment.id.in_(ids), *due)
                .with_for_update(skip_locked=True)
            ).all()
            _advance_batch(session, ids, isolated=True)
        advanced += len(ids)
    from saas.modules.workflows.emails import queue_sending

    queue_sending(session)
    return {"advanced": advanced}


def _advance_batch(session: TenantSession, ids: list[uuid.UUID], *, isolated: bool) -> None:
    batch = session.scalars(select(WorkflowEnrolment).where(WorkflowEnrolment.id.in_(ids))).all()
    record_types = {t.table: t for t in registry.record_types(session)}
    workflows = {
        w.id: w
        for w in session.scalars(select(Workflow).where(Workflow.id.in_({e.workflow_id for e in batch})))
    }
    records = _load_records(session, batch, record_types)  # noqa: F841  (held: the session keeps weak refs)
    for enrolment in batch:
        workflow = workflows.get(enrolment.workflow_id)
        try:
            if isolated:
                _advance_isolated(session, enrolment, workflow, record_types)
            else:
                _run_steps(session, enrolment, workflow, record_types)
        finally:
            session.info.pop(CHAIN, None)
    write_history(session)
    session.commit()


def _load_records(
    session: TenantSession, batch: list[WorkflowEnrolment], record_types: dict[str, RecordType]
) -> list[Any]:
    """The batch's records in one query per record type, so that steps find them in the session."""
    by_type: dict[str, list[uuid.UUID]] = {}
    for enrolment in batch:
        by_type.setdefault(enrolment.record_type, []).append(enrolment.record_id)
    loaded: list[Any] = []
    for table, ids in by_type.items():
        record_type = record_types.get(table)
        if record_type is not None and record_type.service is not None:
            model = record_type.service().model
            loaded += session.scalars(select(model).where(model.id.in_(ids))).all()
    return loaded


def _advance_isolated(
    session: TenantSession,
    enrolment: WorkflowEnrolment,
    workflow: Workflow | None,
    record_types: dict[str, RecordType],
) -> None:
    history = session.info.setdefault(_HISTORY, [])
    written = len(history)
    savepoint = session.begin_nested()
    try:
        _run_steps(session, enrolment, workflow, record_types)
        savepoint.commit()
    except Exception as error:
        failed_at = session.info.get(_STEP, 0)
        savepoint.rollback()
        # What the run did in this advance was rolled back with it (its history too): it stays where it
        # was, failed, naming the step that raised.
        del history[written:]
        log.exception("workflow run %s failed at step %s", enrolment.id, failed_at)
        kind = enrolment.steps[failed_at]["type"] if failed_at < len(enrolment.steps) else "end"
        record_step(session, enrolment, failed_at, kind, "failed", type(error).__name__)
        _finish(enrolment, "failed", f"Step {failed_at + 1} failed: {type(error).__name__}.")


def _finish(enrolment: WorkflowEnrolment, status: str, reason: str | None = None) -> None:
    enrolment.status = status
    enrolment.reason = reason
    enrolment.finished_at = clock.now()
    enrolment.next_run_at = None


def _run_steps(
    session: TenantSession,
    enrolment: WorkflowEnrolment,
    workflow: Workflow | None,
    record_types: dict[str, RecordType],
) -> None:
    from saas.modules.workflows.steps import StepContext, execute

    if workflow is None or not workflow.enabled:
        # What the page promises: switching a workflow off stops its runs at their next step.
        record_step(
            session, enrolment, enrolment.step_index, "stop", "stopped", "The workflow was switched off."
        )
        _finish(enrolment, "stopped", "The workflow was switched off.")
        return
    session.info[CHAIN] = [*enrolment.chain, run_key(enrolment.workflow_id, enrolment.record_id)]
    context = StepContext(session, enrolment, workflow, record_types)
    max_steps = config_int("WORKFLOW_MAX_STEPS_PER_RUN", 50)
    while enrolment.step_index < len(enrolment.steps):
        if enrolment.step_index >= max_steps:
            _finish(enrolment, "stopped", f"The limit of {max_steps} steps a run was reached.")
            return
        index = enrolment.step_index
        session.info[_STEP] = index  # kept outside the run's row, which a failed flush expires
        step = enrolment.steps[index]
        outcome = execute(context, step, index)
        if outcome.action == "wait":
            if enrolment.wait_started_at is None:
                record_step(session, enrolment, index, "wait", "waiting", outcome.detail, attempt_key="wait")
                enrolment.wait_started_at = clock.now()
            enrolment.next_run_at = outcome.until
            return
        record_step(session, enrolment, index, step["type"], outcome.outcome, outcome.detail)
        enrolment.wait_started_at = None
        if outcome.action == "stop":
            _finish(enrolment, "stopped", outcome.detail)
            return
        enrolment.step_index = (
            outcome.goto if outcome.action == "goto" and outcome.goto is not None else index + 1
        )
    _finish(enrolment, "done")


def wake(session: Session, enrolment_ids: list[uuid.UUID]) -> None:
    """Make waiting runs due now (their email was opened): they re-check what they wait for."""
    if enrolment_ids:
        session.execute(
            update(WorkflowEnrolment)
            .where(WorkflowEnrolment.id.in_(enrolment_ids), WorkflowEnrolment.status == "active")
            .values(next_run_at=clock.now())
        )
        queue_advance(session)


def advance_all_due() -> dict[str, Any]:
    """Periodic: advance due runs in every workspace with workflows on (waits that ran out)."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def advance(ref) -> dict[str, int]:
        with tenant_session(ref) as session:
            return advance_due(session)

    return for_each_tenant("workflows.advance", advance, module="workflows").as_dict()
