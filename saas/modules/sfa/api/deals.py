"""API resources /api/v1/deals (filtered, cursor-paginated), their moves and their stage history."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.core.api.records import register_record_resource, whole_record
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.deal_schemas import DealIn, DealListQuery, DealOut, DealPage, MoveIn, StageHistory
from saas.modules.sfa.deals import deals
from saas.tenants.routing import current_tenant_session

register_record_resource(api, "deals", deals, DealIn, DealOut, DealPage, list_query=DealListQuery)


@api.post("/deals/<uuid:deal_id>/move")
@api.auth_required(token_auth)
@api.input(MoveIn)
@api.output(DealOut)
@api.doc(
    summary="Move a deal to a stage",
    description="Records the move with the stage's probability. A won or lost stage closes the deal; "
    "a lost one needs `lost_reason`.",
    responses=[404, 422],
)
def move_deal(deal_id: uuid.UUID, json_data: dict):
    session = current_tenant_session()
    moved = deals.move(session, deal_id, json_data["stage_id"], json_data.get("lost_reason"))
    return whole_record(session, deals, moved)


@api.get("/deals/<uuid:deal_id>/history")
@api.auth_required(token_auth)
@api.output(StageHistory)
@api.doc(summary="A deal's stage moves, oldest first", responses=[404])
def deal_history(deal_id: uuid.UUID):
    return {"data": deals.history(current_tenant_session(), deal_id)}
