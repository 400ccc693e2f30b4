"""API resources /api/v1/pipelines and /api/v1/stages: every member reads them, admins change them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from saas.api import token_auth
from saas.modules.settings import ADMIN_ROLES
from saas.modules.sfa import pipelines
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.deal_schemas import (
    NewStageIn,
    PipelineChangeIn,
    PipelineIn,
    PipelineList,
    PipelineOut,
    StageIn,
    StageOrderIn,
    StageOut,
)
from saas.tenants.routing import current_tenant_session, require_role


def admins_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """403 for members before the input is even read."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        require_role(*ADMIN_ROLES)
        return view(*args, **kwargs)

    return guarded


@api.get("/pipelines")
@api.auth_required(token_auth)
@api.output(PipelineList)
@api.doc(summary="List pipelines with their stages")
def list_pipelines():
    return {"data": pipelines.list_pipelines(current_tenant_session())}


@api.post("/pipelines")
@api.auth_required(token_auth)
@admins_only
@api.input(PipelineIn)
@api.output(PipelineOut, status_code=201)
@api.doc(summary="Create a pipeline", description="Owners and admins only.", responses=[403, 409, 422])
def create_pipeline(json_data: dict):
    return pipelines.create_pipeline(current_tenant_session(), json_data)


@api.get("/pipelines/<uuid:pipeline_id>")
@api.auth_required(token_auth)
@api.output(PipelineOut)
@api.doc(summary="Read a pipeline with its stages", responses=[404])
def get_pipeline(pipeline_id: uuid.UUID):
    return pipelines.get_pipeline(current_tenant_session(), pipeline_id)


@api.patch("/pipelines/<uuid:pipeline_id>")
@api.auth_required(token_auth)
@admins_only
@api.input(PipelineChangeIn)
@api.output(PipelineOut)
@api.doc(summary="Rename a pipeline or make it the default", responses=[403, 404, 422])
def update_pipeline(pipeline_id: uuid.UUID, json_data: dict):
    return pipelines.update_pipeline(current_tenant_session(), pipeline_id, json_data)


@api.delete("/pipelines/<uuid:pipeline_id>")
@api.auth_required(token_auth)
@admins_only
@api.output({}, status_code=204)
@api.doc(summary="Delete a pipeline without deals", responses=[403, 404, 409])
def delete_pipeline(pipeline_id: uuid.UUID):
    pipelines.delete_pipeline(current_tenant_session(), pipeline_id)
    return ""


@api.post("/pipelines/<uuid:pipeline_id>/stages")
@api.auth_required(token_auth)
@admins_only
@api.input(NewStageIn)
@api.output(StageOut, status_code=201)
@api.doc(summary="Add a stage", responses=[403, 404, 422])
def add_stage(pipeline_id: uuid.UUID, json_data: dict):
    return pipelines.add_stage(current_tenant_session(), pipeline_id, json_data)


@api.put("/pipelines/<uuid:pipeline_id>/stages/order")
@api.auth_required(token_auth)
@admins_only
@api.input(StageOrderIn)
@api.output(PipelineOut)
@api.doc(
    summary="Reorder the stages", description="`stage_ids` names every stage once.", responses=[403, 404, 422]
)
def reorder_stages(pipeline_id: uuid.UUID, json_data: dict):
    return pipelines.reorder_stages(current_tenant_session(), pipeline_id, json_data["stage_ids"])


@api.get("/stages/<uuid:stage_id>")
@api.auth_required(token_auth)
@api.output(StageOut)
@api.doc(summary="Read a stage", responses=[404])
def get_stage(stage_id: uuid.UUID):
    return pipelines.get_stage(current_tenant_session(), stage_id)


@api.patch("/stages/<uuid:stage_id>")
@api.auth_required(token_auth)
@admins_only
@api.input(StageIn(partial=True))
@api.output(StageOut)
@api.doc(summary="Rename a stage, set its probability or kind", responses=[403, 404, 409, 422])
def update_stage(stage_id: uuid.UUID, json_data: dict):
    return pipelines.update_stage(current_tenant_session(), stage_id, json_data)


@api.delete("/stages/<uuid:stage_id>")
@api.auth_required(token_auth)
@admins_only
@api.output({}, status_code=204)
@api.doc(summary="Delete a stage without deals", responses=[403, 404, 409])
def delete_stage(stage_id: uuid.UUID):
    pipelines.delete_stage(current_tenant_session(), stage_id)
    return ""
