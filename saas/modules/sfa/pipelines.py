"""Pipelines and their ordered stages, each with a win probability and a kind (open, won, lost).

Tenant admins shape them; deals move through them. A pipeline always keeps at least one open stage
(new deals start there), and a stage that still holds deals cannot be deleted or change its kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from saas.db import TenantSession
from saas.errors import Conflict, ValidationError
from saas.i18n import N_
from saas.modules.core.services import RecordService
from saas.modules.sfa.models import Deal, Pipeline, Stage
from saas.modules.sfa.module import DEFAULT_STAGES

# Only their lookups by id are shared with the other records; the rest is below.
_pipelines = RecordService(Pipeline, "pipeline", search=())
_stages = RecordService(Stage, "stage", search=())


def list_pipelines(session: TenantSession) -> list[Pipeline]:
    """Every pipeline with its stages, in the tenant's order."""
    query = (
        select(Pipeline)
        .options(selectinload(Pipeline.stages))
        .order_by(Pipeline.position, Pipeline.name, Pipeline.id)
    )
    return list(session.scalars(query))


def get_pipeline(session: TenantSession, pipeline_id: uuid.UUID) -> Pipeline:
    return _pipelines.get(session, pipeline_id)


def default_pipeline(session: TenantSession) -> Pipeline:
    pipeline = session.scalar(
        select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id).limit(1)
    )
    if pipeline is None:
        raise Conflict("This workspace has no pipeline; an admin can create one under Settings > Pipelines.")
    return pipeline


def get_stage(session: TenantSession, stage_id: uuid.UUID) -> Stage:
    return _stages.get(session, stage_id)


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = next((stage for stage in pipeline.stages if stage.kind == "open"), None)
    if stage is None:
        raise Conflict(
            N_("Pipeline '%(pipeline)s' has no open stage for a new deal.", pipeline=pipeline.name)
        )
    return stage


def deal_count(session: TenantSession, **where: uuid.UUID) -> int:
    """How many deals are in a stage (``stage_id=``) or pipeline (``pipeline_id=``)."""
    conditions = [getattr(Deal, column) == value for column, value in where.items()]
    return session.scalar(select(func.count()).select_from(Deal).where(*conditions)) or 0


def deal_counts_by_stage(session: TenantSession) -> dict[uuid.UUID, int]:
    rows = session.execute(select(Deal.stage_id, func.count()).group_by(Deal.stage_id))
    return dict(rows.all())


def _check_stage_names(stages: Iterable[Stage]) -> None:
    names = [stage.name.casefold() for stage in stages]
    if len(names) != len(set(names)):
        raise ValidationError(
            "Stage names must differ within a pipeline.", {"name": ["A stage of this name exists."]}
        )


def _check_has_open_stage(stages: Iterable[Stage]) -> None:
    if not any(stage.kind == "open" for stage in stages):
        raise Conflict("A pipeline needs at least one open stage: new deals start in it.")


def _check_unique_name(session: TenantSession, name: str, pipeline_id: uuid.UUID | None = None) -> None:
    taken = session.scalar(
        select(Pipeline.id).where(func.lower(Pipeline.name) == name.lower(), Pipeline.id != pipeline_id)
    )
    if taken is not None:
        raise ValidationError("A pipeline of this name exists.", {"name": ["Choose another name."]})


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    for position, stage in enumerate(ordered):
        stage.position = position
    pipeline.stages[:] = ordered


def _make_default(session: TenantSession, pipeline: Pipeline) -> None:
    for other in session.scalars(select(Pipeline).where(Pipeline.is_default, Pipeline.id != pipeline.id)):
        other.is_default = False
    pipeline.is_default = True


def create_pipeline(session: TenantSession, data: dict[str, Any]) -> Pipeline:
    """A new pipeline with the given stages (the standard sales stages when none are given)."""
    _check_unique_name(session, data["name"])
    specs = data.get("stages") or [
        {"name": name, "probability": probability, "kind": kind} for name, probability, kind in DEFAULT_STAGES
    ]
    stages = [Stage(**spec, position=position) for position, spec in enumerate(specs)]
    _check_stage_names(stages)
    _check_has_open_stage(stages)
    last = session.scalar(select(func.max(Pipeline.position)))
    is_first = last is None
    pipeline = Pipeline(name=data["name"], position=0 if is_first else last + 1, is_default=False)
    pipeline.stages = stages
    session.add(pipeline)
    if is_first or data.get("is_default"):
        _make_default(session, pipeline)
    session.flush()
    return pipeline


def update_pipeline(session: TenantSession, pipeline_id: uuid.UUID, changes: dict[str, Any]) -> Pipeline:
    """Rename a pipeline and/or make it the default (the default is changed by choosing another)."""
    pipeline = get_pipeline(session, pipeline_id)
    if "name" in changes:
        _check_unique_name(session, changes["name"], pipeline.id)
        pipeline.name = changes["name"]
    if changes.get("is_default") is True:
        _make_default(session, pipeline)
    elif changes.get("is_default") is False and pipeline.is_default:
        raise ValidationError(
            "Make another pipeline the default instead.", {"is_default": ["One pipeline is the default."]}
        )
    session.flush()
    return pipeline


def delete_pipeline(session: TenantSession, pipeline_id: uuid.UUID) -> None:
    pipeline = get_pipeline(session, pipeline_id)
    if pipeline.is_default:
        raise Conflict(
            N_(
                "'%(pipeline)s' is the default pipeline; make another one the default first.",
                pipeline=pipeline.name,
            )
        )
    held = deal_count(session, pipeline_id=pipeline.id)
    if held:
        raise Conflict(
            N_(
                "'%(pipeline)s' still holds %(count)s deal(s); move or delete them first.",
                pipeline=pipeline.name,
                count=held,
            )
        )
    session.delete(pipeline)
    session.flush()


def add_stage(session: TenantSession, pipeline_id: uuid.UUID, data: dict[str, Any]) -> Stage:
    """Insert a stage at ``position`` (the end when ``None``); the others move along."""
    pipeline = get_pipeline(session, pipeline_id)
    ordered = list(pipeline.stages)
    position = data.get("position")
    position = len(ordered) if position is None else min(position, len(ordered))
    stage = Stage(name=data["name"], probability=data["probability"], kind=data.get("kind", "open"))
    ordered.insert(position, stage)
    _check_stage_names(ordered)
    _renumber(pipeline, ordered)
    session.flush()
    return stage


def update_stage(session: TenantSession, stage_id: uuid.UUID, changes: dict[str, Any]) -> Stage:
    """Rename a stage, set its win probability or its kind (the kind only while it holds no deals)."""
    stage = get_stage(session, stage_id)
    pipeline = stage.pipeline
    if "kind" in changes and changes["kind"] != stage.kind:
        held = deal_count(session, stage_id=stage.id)
        if held:
            raise Conflict(
                N_(
                    "Stage '%(stage)s' holds %(count)s deal(s); its kind decides whether they are open, won "
                    "or lost, so move them out before changing it.",
                    stage=stage.name,
                    count=held,
                )
            )
    with session.no_autoflush:  # check the changed stage before it reaches the database
        for name in ("name", "probability", "kind"):
            if name in changes:
                setattr(stage, name, changes[name])
        _check_stage_names(pipeline.stages)
        _check_has_open_stage(pipeline.stages)
    session.flush()
    return stage


def reorder_stages(session: TenantSession, pipeline_id: uuid.UUID, stage_ids: list[uuid.UUID]) -> Pipeline:
    """Put the pipeline's stages in the order of ``stage_ids``, which must name each of them once."""
    pipeline = get_pipeline(session, pipeline_id)
    by_id = {stage.id: stage for stage in pipeline.stages}
    if len(stage_ids) != len(by_id) or set(stage_ids) != set(by_id):
        raise ValidationError(
            "Give every stage of the pipeline exactly once.",
            {
                "stage_ids": [
                    N_("Expected the %(count)s stage ids of this pipeline, each once.", count=len(by_id))
                ]
            },
        )
    _renumber(pipeline, [by_id[stage_id] for stage_id in stage_ids])
    session.flush()
    return pipeline


def move_stage(session: TenantSession, stage_id: uuid.UUID, offset: int) -> Pipeline:
    """Move a stage ``offset`` places (-1 earlier, +1 later): the buttons of the settings page."""
    stage = get_stage(session, stage_id)
    ids = [each.id for each in stage.pipeline.stages]
    index = ids.index(stage.id)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    return reorder_stages(session, stage.pipeline_id, ids)


def delete_stage(session: TenantSession, stage_id: uuid.UUID) -> None:
    """Delete a stage that holds no deals; the stage history keeps the moves without it."""
    stage = get_stage(session, stage_id)
    held = deal_count(session, stage_id=stage.id)
    if held:
        raise Conflict(
            N_(
                "Stage '%(stage)s' still holds %(count)s deal(s); "
                "move them to another stage before deleting it.",
                stage=stage.name,
                count=held,
            )
        )
    pipeline = stage.pipeline
    remaining = [each for each in pipeline.stages if each.id != stage.id]
    _check_has_open_stage(remaining)
    _renumber(pipeline, remaining)  # delete-orphan removes the stage
    session.flush()
