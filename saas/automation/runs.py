"""Advancing enrolments step by step, the skeleton every automation shares (an RQ job per workspace).

Each step's side effect, its history line (unique per enrolment, step and attempt key) and the enrolment's
new position are written in one transaction: a worker killed mid-run leaves all of them or none, so the
next run neither repeats a side effect nor queues an email twice. An automation (a subclass of
:class:`Automation`) brings its tables, how it starts a run and what each step does.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.automation import clock
from saas.db import TenantSession, db
from saas.jobs import enqueue_after_commit

log = logging.getLogger(__name__)

_QUEUED = "automation_advance_queued"
_HISTORY = "automation_history"
_STEP = "automation_step"


def writable(session: TenantSession) -> bool:
    """Whether the workspace may write (not read-only for an unpaid subscription)."""
    from saas.billing.entitlements import entitlements_for

    return entitlements_for(db.session, session.tenant.id).can_write


def queue_advance(session: Session, job: str) -> None:
    """Run the advancing ``job`` once ``session`` commits (queued once per transaction and job)."""
    flag = f"{_QUEUED}:{job}"
    if not session.info.get(flag):
        session.info[flag] = True
        enqueue_after_commit(session, job)
        event.listen(session, "after_commit", lambda s: s.info.pop(flag, None), once=True)
        event.listen(session, "after_rollback", lambda s: s.info.pop(flag, None), once=True)


def once_key() -> str:
    """The attempt key of a history line that is not a step's (a pause, a stop): never a duplicate."""
    return uuid.uuid4().hex


def finish(enrolment: Any, status: str, reason: str | None = None) -> None:
    """End an enrolment: it runs no more."""
    enrolment.status = status
    enrolment.reason = reason
    enrolment.finished_at = clock.now()
    enrolment.next_run_at = None


def counts_by_status(session: Session, definition: Any) -> dict[uuid.UUID, dict[str, int]]:
    """Per definition (``definition``: the enrolments' column naming it, e.g. a sequence's id), its
    enrolments by status (the list pages)."""
    status = definition.class_.status
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for definition_id, state, count in session.execute(
        select(definition, status, func.count()).group_by(definition, status)
    ):
        counts.setdefault(definition_id, {})[state] = count
    return counts


@dataclass(frozen=True)
class Outcome:
    """What a step decided: go on (``next``), jump (``goto``), wait until ``until``, or ``stop``."""

    action: str
    outcome: str = "done"
    detail: str = ""
    goto: int | None = None
    until: datetime | None = None


class Automation:
    """An automation plugged into the engine: its tables, jobs and steps. The engine claims due enrolments
    (``FOR UPDATE SKIP LOCKED``), runs their steps, writes their history and finishes them."""

    module: ClassVar[str]
    """The module's key: periodic jobs visit workspaces with it on."""
    enrolments: ClassVar[Any]
    """The enrolments' model (:class:`saas.automation.models.EnrolmentColumns` and ``status``, ``steps``)."""
    history: ClassVar[Any]
    """The history lines' model (:class:`saas.automation.models.HistoryColumns`)."""
    advance_job: ClassVar[str]
    """The RQ path of the module's ``advance_due`` (stored in Redis: it must keep working)."""
    noun: ClassVar[str] = "enrolment"
    """What the logs call an enrolment."""
    done_status: ClassVar[str] = "done"
    done_reason: ClassVar[str | None] = None
    batch: ClassVar[int] = 200

    # --- what an automation brings ------------------------------------------------------------------

    def prepare(self, session: TenantSession, batch: list[Any]) -> Any:
        """What the batch's steps need, read once for it (held while it runs)."""
        return None

    def start(self, session: TenantSession, prepared: Any, enrolment: Any) -> Any:
        """The run's context handed to its steps. To end the run before a step, :func:`finish` it."""
        return prepared

    def end(self, session: TenantSession) -> None:
        """After a run's steps, whether they raised or not."""

    def execute(
        self, session: TenantSession, run: Any, enrolment: Any, step: dict[str, Any], index: int
    ) -> Outcome:
        raise NotImplementedError

    def max_steps(self) -> int | None:
        """How many steps a run may take in all (None: no limit)."""
        return None

    def failure_key(self) -> str:
        """The attempt key of the history line of a failed step."""
        return "done"

    def queue_sending(self, session: TenantSession) -> None:
        """Mail what the advance queued (the outbox's job); the caller has committed."""

    # --- history ------------------------------------------------------------------------------------

    def record_line(
        self,
        session: Session,
        enrolment: Any,
        index: int,
        kind: str,
        outcome: str,
        detail: str = "",
        attempt_key: str = "done",
        *,
        now: bool = False,
    ) -> None:
        """Add a line to the enrolment's history: to the advancing batch's (one INSERT for the batch, in its
        transaction, by :meth:`write_history`), or with ``now`` to the session at once (outside an advance:
        enrolling, a pause, a stop)."""
        line = _line(enrolment, index, kind, outcome, detail, attempt_key)
        if now:
            session.add(self.history(**line))
        else:
            session.info.setdefault(_HISTORY, []).append(line)

    def write_history(self, session: Session) -> None:
        """Insert the buffered lines; a line whose (enrolment, step, attempt key) exists is left out."""
        rows = session.info.pop(_HISTORY, None)
        if rows:
            session.execute(
                insert(self.history).on_conflict_do_nothing(
                    index_elements=["enrolment_id", "step_index", "attempt_key"]
                ),
                rows,
            )

    # --- advancing ----------------------------------------------------------------------------------

    def queue_advance(self, session: Session) -> None:
        queue_advance(session, self.advance_job)

    def advance_due(self, session: TenantSession, limit: int | None = None) -> dict[str, int]:
        """Job body: advance every due enrolment, a batch per transaction. Concurrent jobs take disjoint
        batches (SKIP LOCKED). A batch runs straight through; if a step raises, the batch is rolled back
        and run again with each enrolment in a savepoint of its own, so that one failing step fails its
        enrolment, not the batch. A read-only (lapsed) workspace's enrolments wait: their steps would
        write."""
        if not writable(session):
            return {"advanced": 0, "read_only": 1}
        model = self.enrolments
        advanced = 0
        due = (model.status == "active", model.next_run_at <= clock.now())
        while limit is None or advanced < limit:
            size = self.batch if limit is None else min(self.batch, limit - advanced)
            ids = session.scalars(
                select(model.id)
                .where(*due)
                .order_by(model.next_run_at)
                .limit(size)
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                break
            try:
                self._advance_batch(session, ids, isolated=False)
            except Exception:
                session.rollback()
                session.info.pop(_HISTORY, None)
                # Locked again (another job may have taken some meanwhile: it runs those).
                ids = session.scalars(
                    select(model.id).where(model.id.in_(ids), *due).with_for_update(skip_locked=True)
                ).all()
                self._advance_batch(session, ids, isolated=True)
            advanced += len(ids)
        self.queue_sending(session)
        return {"advanced": advanced}

    def advance_all_due(self) -> dict[str, Any]:
        """Periodic: advance due enrolments in every workspace with the module on (waits that ran out)."""
        from saas.db import tenant_session
        from saas.jobs.fanout import for_each_tenant

        def advance(ref) -> dict[str, int]:
            with tenant_session(ref) as session:
                return self.advance_due(session)

        return for_each_tenant(f"{self.module}.advance", advance, module=self.module).as_dict()

    def _advance_batch(self, session: TenantSession, ids: list[uuid.UUID], *, isolated: bool) -> None:
        batch = list(session.scalars(select(self.enrolments).where(self.enrolments.id.in_(ids))))
        prepared = self.prepare(session, batch)
        for enrolment in batch:
            try:
                if isolated:
                    self._advance_isolated(session, prepared, enrolment)
                else:
                    self._run_steps(session, prepared, enrolment)
            finally:
                self.end(session)
        self.write_history(session)
        session.commit()

    def _advance_isolated(self, session: TenantSession, prepared: Any, enrolment: Any) -> None:
        history = session.info.setdefault(_HISTORY, [])
        written = len(history)
        savepoint = session.begin_nested()
        try:
            self._run_steps(session, prepared, enrolment)
            savepoint.commit()
        except Exception as error:
            failed_at = session.info.get(_STEP, 0)
            savepoint.rollback()
            # What the enrolment did in this advance was rolled back with it (its history too): it stays
            # where it was, failed, naming the step that raised.
            del history[written:]
            log.exception("%s %s failed at step %s", self.noun, enrolment.id, failed_at)
            kind = enrolment.steps[failed_at]["type"] if failed_at < len(enrolment.steps) else "end"
            self.record_line(
                session, enrolment, failed_at, kind, "failed", type(error).__name__, self.failure_key()
            )
            finish(enrolment, "failed", f"Step {failed_at + 1} failed: {type(error).__name__}.")

    def _run_steps(self, session: TenantSession, prepared: Any, enrolment: Any) -> None:
        session.info[_STEP] = enrolment.step_index
        run = self.start(session, prepared, enrolment)
        if enrolment.status != "active":
            return  # ended before a step (a switched-off workflow)
        max_steps = self.max_steps()
        while enrolment.step_index < len(enrolment.steps):
            if max_steps is not None and enrolment.step_index >= max_steps:
                finish(enrolment, "stopped", f"The limit of {max_steps} steps a run was reached.")
                return
            index = enrolment.step_index
            session.info[_STEP] = index  # kept outside the enrolment's row, which a failed flush expires
            step = enrolment.steps[index]
            outcome = self.execute(session, run, enrolment, step, index)
            if outcome.action == "wait":
                if enrolment.wait_started_at is None:
                    self.record_line(session, enrolment, index, "wait", "waiting", outcome.detail, "wait")
                    enrolment.wait_started_at = clock.now()
                enrolment.next_run_at = outcome.until
                return
            self.record_line(session, enrolment, index, step["type"], outcome.outcome, outcome.detail)
            enrolment.wait_started_at = None
            if outcome.action == "stop":
                finish(enrolment, "stopped", outcome.detail)
                return
            enrolment.step_index = (
                outcome.goto if outcome.action == "goto" and outcome.goto is not None else index + 1
            )
        finish(enrolment, self.done_status, self.done_reason)


def _line(
    enrolment: Any, index: int, kind: str, outcome: str, detail: str, attempt_key: str
) -> dict[str, Any]:
    return {
        "enrolment_id": enrolment.id, "step_index": index, "attempt_key": attempt_key, "kind": kind,
        "outcome": outcome, "detail": detail[:500], "at": clock.now(),
    }  # fmt: skip
