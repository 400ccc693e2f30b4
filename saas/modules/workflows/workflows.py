"""Workflows as people edit them (page and API): list, read, create, change, switch on or off, delete;
and what their runs did, per workflow and per record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from saas.automation import clock
from saas.automation.runs import counts_by_status
from saas.db import TenantSession
from saas.errors import NotFound
from saas.i18n import N_, translate
from saas.modules.registry import registry
from saas.modules.workflows.definitions import clean_workflow
from saas.modules.workflows.models import Workflow, WorkflowEnrolment, WorkflowStepRun
from saas.modules.workflows.runs import queue_advance

HISTORY_LIMIT = 100


def record_type_names(session: TenantSession) -> set[str]:
    return {t.table for t in registry.record_types(session)}


def list_workflows(session: TenantSession) -> list[Workflow]:
    return list(session.scalars(select(Workflow).order_by(Workflow.name, Workflow.id)))


def get_workflow(session: TenantSession, workflow_id: uuid.UUID) -> Workflow:
    workflow = session.get(Workflow, workflow_id)
    if workflow is None:
        raise NotFound(N_("No workflow with id %(id)s.", id=workflow_id))
    return workflow


def create_workflow(
    session: TenantSession, data: dict[str, Any], *, user_id: uuid.UUID | None, base_url: str | None
) -> Workflow:
    clean = clean_workflow(data, record_type_names(session))
    workflow = Workflow(
        id=uuid.uuid4(), version=1, created_by_user_id=user_id, base_url=base_url, round_robin={}, **clean
    )
    session.add(workflow)
    session.flush()
    return workflow


def update_workflow(
    session: TenantSession, workflow_id: uuid.UUID, data: dict[str, Any], *, base_url: str | None
) -> Workflow:
    """Change a workflow; a new version only if its trigger, conditions or steps changed. Runs under way
    keep the steps they started with."""
    workflow = get_workflow(session, workflow_id)
    current = {"name": workflow.name, "enabled": workflow.enabled, "trigger": workflow.trigger,
               "conditions": workflow.conditions, "steps": workflow.steps}  # fmt: skip
    clean = clean_workflow({**current, **data}, record_type_names(session))
    if any(clean[key] != current[key] for key in ("trigger", "conditions", "steps")):
        workflow.version += 1
        workflow.round_robin = {}
    for key, value in clean.items():
        setattr(workflow, key, value)
    workflow.base_url = base_url or workflow.base_url
    session.flush()
    return workflow


def set_enabled(session: TenantSession, workflow_id: uuid.UUID, enabled: bool) -> Workflow:
    """Switch on or off; switched off, its active runs stop at their next step."""
    workflow = get_workflow(session, workflow_id)
    workflow.enabled = enabled
    if not enabled:
        # Due now, so that waiting runs stop at once rather than when their wait ends.
        session.execute(
            update(WorkflowEnrolment)
            .where(WorkflowEnrolment.workflow_id == workflow.id, WorkflowEnrolment.status == "active")
            .values(next_run_at=clock.now())
        )
        queue_advance(session)
    session.flush()
    return workflow


def delete_workflow(session: TenantSession, workflow_id: uuid.UUID) -> None:
    session.delete(get_workflow(session, workflow_id))
    session.flush()


@dataclass(frozen=True)
class RunView:
    """One run with its steps' history, newest first."""

    enrolment: WorkflowEnrolment
    workflow_name: str
    steps: list[WorkflowStepRun]


def _runs(session: TenantSession, *conditions: Any) -> list[RunView]:
    rows = session.execute(
        select(WorkflowEnrolment, Workflow.name)
        .join(Workflow, Workflow.id == WorkflowEnrolment.workflow_id)
        .where(*conditions)
        .order_by(WorkflowEnrolment.enrolled_at.desc(), WorkflowEnrolment.id)
        .limit(HISTORY_LIMIT)
    ).all()
    ids = [enrolment.id for enrolment, _ in rows]
    steps: dict[uuid.UUID, list[WorkflowStepRun]] = {i: [] for i in ids}
    for step in session.scalars(
        select(WorkflowStepRun).where(WorkflowStepRun.enrolment_id.in_(ids)).order_by(WorkflowStepRun.id)
    ):
        steps[step.enrolment_id].append(step)
    return [RunView(enrolment, name, steps[enrolment.id]) for enrolment, name in rows]


def runs_of_workflow(session: TenantSession, workflow_id: uuid.UUID) -> list[RunView]:
    return _runs(session, WorkflowEnrolment.workflow_id == get_workflow(session, workflow_id).id)


def runs_of_record(session: TenantSession, record_type: str, record_id: uuid.UUID) -> list[RunView]:
    return _runs(
        session, WorkflowEnrolment.record_type == record_type, WorkflowEnrolment.record_id == record_id
    )


def run_counts(session: TenantSession) -> dict[uuid.UUID, dict[str, int]]:
    """Per workflow, its runs by status (the list page)."""
    return counts_by_status(session, WorkflowEnrolment.workflow_id)


@dataclass(frozen=True)
class EditorChoices:
    """What the editor offers to pick, from the modules that are on: (id, name) pairs."""

    record_types: list[tuple[str, str]]
    templates: list[tuple[str, str]]
    forms: list[tuple[str, str]]
    segments: list[tuple[str, str]]
    lists: list[tuple[str, str]]
    stages: list[tuple[str, str]]
    members: list[tuple[str, str]]


def editor_choices(
    session: TenantSession, enabled: set[str], members: list[tuple[uuid.UUID, str]]
) -> EditorChoices:
    templates: list[tuple[str, str]] = []
    forms: list[tuple[str, str]] = []
    segments: list[tuple[str, str]] = []
    lists: list[tuple[str, str]] = []
    stages: list[tuple[str, str]] = []
    if "marketing" in enabled:
        from saas.modules.marketing.campaigns import list_campaigns
        from saas.modules.marketing.forms import list_forms
        from saas.modules.marketing.segments import list_segments

        templates = [(str(c.id), c.name) for c in list_campaigns(session)]
        forms = [(str(f.id), f.name) for f in list_forms(session)]
        every = list_segments(session)
        segments = [(str(s.id), s.name) for s in every]
        lists = [(str(s.id), s.name) for s in every if s.kind == "static"]
    if "sfa" in enabled:
        from saas.modules.sfa.models import Pipeline, Stage

        stages = [
            (str(stage_id), f"{translate(pipeline)} · {translate(stage)}")  # seeded names read translated
            for stage_id, pipeline, stage in session.execute(
                select(Stage.id, Pipeline.name, Stage.name)
                .join(Pipeline, Pipeline.id == Stage.pipeline_id)
                .order_by(Pipeline.position, Stage.position)
            )
        ]
    return EditorChoices(
        record_types=[(t.table, t.plural) for t in registry.record_types(session, enabled)],
        templates=templates,
        forms=forms,
        segments=segments,
        lists=lists,
        stages=stages,
        members=[(str(user_id), email) for user_id, email in members],
    )
