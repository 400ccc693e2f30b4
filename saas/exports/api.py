"""API: /api/v1/exports — start, list and fetch exports (owners and admins); /api/v1/restores — restore an
archive into an empty workspace (owners)."""

from __future__ import annotations

import uuid

from apiflask import Schema
from apiflask.fields import DateTime, Dict, File, Integer, List, Nested, String
from flask import current_app, g, request

from saas.api import api_blueprint, token_auth
from saas.exports import imports, services
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


# -- restoring an archive into this (empty) workspace: owners ------------------------------------


class RestoreIn(Schema):
    archive = File(required=True, metadata={"description": "An archive exported from a workspace (ZIP)."})


class SecretToReenter(Schema):
    kind = String(metadata={"description": "sso_client_secret, webhook_secrets or api_client."})
    name = String()
    scope = String()


class ImportOut(Schema):
    id = String()
    kind = String(metadata={"description": "signup or restore."})
    status = String(
        metadata={"description": "queued, verifying, loading, configuring, done, refused, failed."}
    )
    stage = String(allow_none=True)
    created_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)
    tables_total = Integer()
    tables_done = Integer()
    rows_loaded = Integer()
    errors = Dict(
        keys=String(), values=List(String()), metadata={"description": "Why it was refused, per file."}
    )
    secrets_to_reenter = List(Nested(SecretToReenter))
    error = String(allow_none=True)


@api.before_request
def _archive_upload_limit() -> None:
    # An archive may be far larger than the app's request limit; parsing starts before the view runs.
    if request.endpoint == "exports_api.start_restore":
        request.max_content_length = current_app.config["SAAS_SETTINGS"].import_max_bytes


@api.post("/restores")
@api.auth_required(token_auth)
@api.input(RestoreIn, location="files")
@api.output(ImportOut, status_code=202)
@api.doc(
    summary="Restore an archive into this empty workspace",
    description="Owners only. The archive is verified completely (every checksum, the size and entry limits, "
    "the definitions and the configuration) before a row is written; poll the restore for progress. A "
    "workspace that holds records refuses (409), a read-only one too (403).",
    responses=[403, 409, 413, 422],
)
def start_restore(files_data):
    require_role("owner")
    return imports.start_restore(g.tenant.id, g.membership, files_data["archive"].stream).as_dict()


@api.get("/restores/<uuid:import_id>")
@api.auth_required(token_auth)
@api.output(ImportOut)
@api.doc(
    summary="One restore, with its progress, its refusal per file or the secrets to re-enter",
    responses=[403, 404],
)
def get_restore(import_id: uuid.UUID):
    require_role("owner")
    return imports.get_tenant_import(g.tenant.id, import_id).as_dict()


get_restore.allowed_when_read_only = True
