"""``/api/v1/marketing/segments``: segments, their live count and static members."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.marketing import segments
from saas.modules.marketing.blueprints import api
from saas.modules.marketing.schemas import (
    MembersIn,
    MembersOut,
    SegmentCount,
    SegmentIn,
    SegmentList,
    SegmentOut,
)
from saas.tenants.routing import current_tenant_session

P = "/marketing"


@api.get(f"{P}/segments")
@api.auth_required(token_auth)
@api.output(SegmentList)
@api.doc(summary="List segments")
def list_segments():
    return {"data": segments.list_segments(current_tenant_session())}


@api.post(f"{P}/segments")
@api.auth_required(token_auth)
@api.input(SegmentIn)
@api.output(SegmentOut, status_code=201)
@api.doc(
    summary="Create a segment",
    description="Rules are re-evaluated whenever the segment is used.",
    responses=[422],
)
def create_segment(json_data: dict):
    return segments.create_segment(current_tenant_session(), json_data)


@api.get(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.output(SegmentOut)
@api.doc(summary="Read a segment", responses=[404])
def get_segment(segment_id: uuid.UUID):
    return segments.get_segment(current_tenant_session(), segment_id)


@api.patch(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.input(SegmentIn(partial=True))
@api.output(SegmentOut)
@api.doc(summary="Update a segment", responses=[404, 422])
def update_segment(segment_id: uuid.UUID, json_data: dict):
    return segments.update_segment(current_tenant_session(), segment_id, json_data)


@api.delete(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a segment", responses=[404, 422])
def delete_segment(segment_id: uuid.UUID):
    segments.delete_segment(current_tenant_session(), segment_id)
    return ""


@api.get(f"{P}/segments/<uuid:segment_id>/count")
@api.auth_required(token_auth)
@api.output(SegmentCount)
@api.doc(summary="Count a segment now, with a preview of its first contacts", responses=[404])
def count_segment(segment_id: uuid.UUID):
    session = current_tenant_session()
    count, preview = segments.count_and_preview(session, segments.get_segment(session, segment_id))
    return {"count": count, "preview": preview}


@api.post(f"{P}/segments/<uuid:segment_id>/members")
@api.auth_required(token_auth)
@api.input(MembersIn)
@api.output(MembersOut)
@api.doc(summary="Add contacts to (or with remove, take them off) a static list", responses=[404, 422])
def change_members(segment_id: uuid.UUID, json_data: dict):
    changed = segments.set_members(
        current_tenant_session(), segment_id, json_data["contact_ids"], add=not json_data["remove"]
    )
    return {"changed": changed}
