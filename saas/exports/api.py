"""API: /api/v1/exports — start, list and fetch exports (owners and admins)."""

from __future__ import annotations

import uuid

from apiflask import Schema
from apiflask.fields import DateTime, Integer, List, Nested, String
from flask import g

from saas.api import api_blueprint, token_auth
from saas.exports import services
from saas.tenants.routing import require_role

api = api_blueprint("exports_api", __name__, tag="Exports")

ADMIN_ROLES = ("owner", "admin")


class ExportOut(Schema):
    id = String()
    status = String()
    kind = String()
    created_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)
    tables_total = Integer()
    tables_done = Integer()
    rows_written = Integer()
    size_bytes = Integer(allow_none=True)
    sha256 = String(allow_none=True)
    expires_at = DateTime(allow_none=True)
    error = String(allow_none=True)
    download_url = String(allow_none=True, metadata={"description": "Presigned, expires in 15 minutes."})


class ExportList(Schema):
    data = List(Nested(ExportOut))


def _with_link(export) -> dict:
    body = export.as_dict()
    body["download_url"] = None  # sent on every answer (the document says so), a link once done
    if export.status == "done":
        body["download_url"] = services.download_link(
            g.tenant.id, export.id, actor=f"api:{g.membership.user_id}"
        )
    return body


@api.post("/exports")
@api.auth_required(token_auth)
@api.output(ExportOut, status_code=202)
@api.doc(summary="Start an export of the whole workspace", responses=[403, 409])
def start_export():
    require_role(*ADMIN_ROLES)
    return _with_link(
        services.start_export(g.tenant.id, requested_by=f"api:{g.membership.user_id}", kind="api")
    )


@api.get("/exports")
@api.auth_required(token_auth)
@api.output(ExportList)
@api.doc(summary="List the workspace's exports", responses=[403])
def list_exports():
    require_role(*ADMIN_ROLES)
    return {"data": [export.as_dict() for export in services.list_exports(g.tenant.id)]}


@api.get("/exports/<uuid:export_id>")
@api.auth_required(token_auth)
@api.output(ExportOut)
@api.doc(summary="One export, with a short-lived download link when it is done", responses=[403, 404])
def get_export(export_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    return _with_link(services.get_export(g.tenant.id, export_id))


for view in (start_export, list_exports, get_export):
    view.allowed_when_read_only = True
