"""Durable runs of workflows on the automation engine (:mod:`saas.automation.runs`): enrolling a record in
a workflow (its hourly limit and loop detection), and what the engine asks of a workflow run (the
workflow's steps, its record types and records read once per batch, a switched-off workflow's stop).

Each step's side effect, the step's history row and the enrolment's new position are written in one
transaction; emails leave through an outbox (:mod:`.emails`) only after that transaction commits.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.automation import clock
from saas.automation.runs import Automation, Outcome, finish
from saas.db import TenantSession
from saas.modules.registry import RecordType, registry
from saas.modules.workflows.models import Workflow, WorkflowEnrolment, WorkflowStepRun

log = logging.getLogger(__name__)

ADVANCE_JOB = "saas.modules.workflows.runs.advance_due"
CHAIN = "workflow_chain"
"""``session.info`` key: the run chain of the step being executed, read by triggers it causes."""


def config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def run_key(workflow_id: uuid.UUID, record_id: uuid.UUID) -> str:
    return f"{workflow_id}:{record_id}"


class WorkflowRuns(Automation):
    """Workflows on the engine: a batch reads its workflows, record types and records once; a run of a
    switched-off workflow stops; a run carries its chain (loop detection) while its steps execute."""

    module = "workflows"
    enrolments = WorkflowEnrolment
    history = WorkflowStepRun
    advance_job = ADVANCE_JOB
    noun = "workflow run"

    def prepare(self, session: TenantSession, batch: list[Any]) -> _Batch:
        record_types = {t.table: t for t in registry.record_types(session)}
        workflows = {
            w.id: w
            for w in session.scalars(select(Workflow).where(Workflow.id.in_({e.workflow_id for e in batch})))
        }
        return _Batch(record_types, workflows, _load_records(session, batch, record_types))

    def start(self, session: TenantSession, prepared: _Batch, enrolment: WorkflowEnrolment) -> Any:
        from saas.modules.workflows.steps import StepContext

        workflow = prepared.workflows.get(enrolment.workflow_id)
        if workflow is None or not workflow.enabled:
            # What the page promises: switching a workflow off stops its runs at their next step.
            stopped = "The workflow was switched off."
            self.record_line(session, enrolment, enrolment.step_index, "stop", "stopped", stopped)
            finish(enrolment, "stopped", stopped)
            return None  # finished: the engine runs no step
        session.info[CHAIN] = [*enrolment.chain, run_key(enrolment.workflow_id, enrolment.record_id)]
        return StepContext(session, enrolment, workflow, prepared.record_types)

    def end(self, session: TenantSession) -> None:
        session.info.pop(CHAIN, None)

    def execute(
        self, session: TenantSession, run: Any, enrolment: Any, step: dict[str, Any], index: int
    ) -> Outcome:
        from saas.modules.workflows.steps import execute

        return execute(run, step, index)

    def max_steps(self) -> int:
        return config_int("WORKFLOW_MAX_STEPS_PER_RUN", 50)

    def queue_sending(self, session: TenantSession) -> None:
        from saas.modules.workflows.emails import OUTBOX

        OUTBOX.queue_sending(session)


@dataclass(frozen=True)
class _Batch:
    """What a batch's runs need, read once."""

    record_types: dict[str, RecordType]
    workflows: dict[uuid.UUID, Workflow]
    records: list[Any]
    """Held: the session keeps weak references, and steps find the records loaded."""


RUNS = WorkflowRuns()


def queue_advance(session: Session) -> None:
    """Advance due enrolments in a job once ``session`` commits (queued once per transaction)."""
    RUNS.queue_advance(session)


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


def wake(session: Session, enrolment_ids: list[uuid.UUID]) -> None:
    """Make waiting runs due now (their email was opened): they re-check what they wait for."""
    if enrolment_ids:
        session.execute(
            update(WorkflowEnrolment)
            .where(WorkflowEnrolment.id.in_(enrolment_ids), WorkflowEnrolment.status == "active")
            .values(next_run_at=clock.now())
        )
        queue_advance(session)


def advance_due(session: TenantSession, limit: int | None = None) -> dict[str, int]:
    """Job body (RQ path :data:`ADVANCE_JOB`): advance every due run (:meth:`Automation.advance_due`)."""
    return RUNS.advance_due(session, limit)


def advance_all_due() -> dict[str, Any]:
    """Periodic: advance due runs in every workspace with workflows on (waits that ran out)."""
    return RUNS.advance_all_due()
