"""API: /api/v1/exports — start, list and fetch exports (owners and admins); the workspace's own bucket
and the export schedule (owners); /api/v1/restores — restore an archive into an empty workspace (owners)."""

from __future__ import annotations

import uuid

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Dict, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import current_app, g, request

from saas.api import api_blueprint, token_auth
from saas.exports import destinations, imports, services
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


class ExportDestinationIn(Schema):
    kind = String(required=True, validate=OneOf(destinations.KINDS))
    bucket = String(required=True, validate=Length(max=63))
    prefix = String(load_default="", validate=Length(max=400))
    region = String(load_default=None, allow_none=True, validate=Length(max=40))
    endpoint_url = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=2000),
        metadata={"description": "s3_keys only."},
    )
    role_arn = String(load_default=None, allow_none=True, validate=Length(max=2048))
    access_key_id = String(
        load_only=True,
        load_default=None,
        validate=Length(max=256),
        metadata={"description": "Write-only, stored encrypted; omit both keys to keep the stored ones."},
    )
    secret_access_key = String(load_only=True, load_default=None, validate=Length(max=256))
    enabled = Boolean(load_default=True)


class ExportDestinationOut(Schema):
    external_id = String(
        metadata={"description": "The ExternalId your AWS role's trust policy must require."}
    )
    kind = String(allow_none=True)
    bucket = String(allow_none=True)
    prefix = String()
    region = String(allow_none=True)
    endpoint_url = String(allow_none=True)
    role_arn = String(allow_none=True)
    keys_stored = Boolean(metadata={"description": "Whether keys are stored; they are never sent back."})
    enabled = Boolean()
    probe_at = DateTime(allow_none=True)
    probe_ok = Boolean(allow_none=True)
    probe_message = String()
    last_success_at = DateTime(allow_none=True)
    last_success_key = String(allow_none=True)
    last_failure_at = DateTime(allow_none=True)
    last_failure_reason = String()


class ExportScheduleIn(Schema):
    frequency = String(required=True, validate=OneOf(tuple(services.FREQUENCIES)))
    hour = Integer(load_default=None, allow_none=True, validate=Range(0, 23))
    weekday = Integer(load_default=None, allow_none=True, validate=Range(0, 6))
    keep_days = Integer(load_default=30, validate=Range(1, 365))
    enabled = Boolean(load_default=True)


class ExportScheduleOut(Schema):
    frequency = String()
    hour = Integer(allow_none=True)
    weekday = Integer(allow_none=True)
    keep_days = Integer()
    enabled = Boolean()
    next_run_at = DateTime()


def _actor() -> str:
    return f"api:{g.membership.user_id}"


@api.get("/exports/destination")
@api.auth_required(token_auth)
@api.output(ExportDestinationOut)
@api.doc(summary="The workspace's own bucket for scheduled exports (owners)", responses=[403])
def get_export_destination():
    require_role("owner")
    return destinations.destination_summary(destinations.get_destination(g.tenant.id))


@api.put("/exports/destination")
@api.auth_required(token_auth)
@api.input(ExportDestinationIn)
@api.output(ExportDestinationOut)
@api.doc(summary="Set the workspace's own bucket and test write access (owners)", responses=[403, 422])
def put_export_destination(json_data):
    require_role("owner")
    return destinations.destination_summary(
        destinations.save_destination(g.tenant.id, json_data, actor=_actor())
    )


@api.post("/exports/destination/probe")
@api.auth_required(token_auth)
@api.output(ExportDestinationOut)
@api.doc(summary="Test write access to the workspace's bucket again (owners)", responses=[403, 404])
def probe_export_destination():
    require_role("owner")
    destinations.probe_destination(g.tenant.id, actor=_actor())
    return destinations.destination_summary(destinations.get_destination(g.tenant.id))


@api.delete("/exports/destination")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Forget the workspace's bucket and its keys (owners)", responses=[403])
def delete_export_destination():
    require_role("owner")
    destinations.remove_destination(g.tenant.id, actor=_actor())
    return ""


@api.put("/exports/schedule")
@api.auth_required(token_auth)
@api.input(ExportScheduleIn)
@api.output(ExportScheduleOut)
@api.doc(
    summary="Set the export schedule: daily or weekly at a local hour (owners and admins)",
    responses=[403, 422],
)
def put_export_schedule(json_data):
    require_role(*ADMIN_ROLES)
    return services.set_schedule(g.tenant.id, actor=_actor(), **json_data)


for view in (
    start_export,
    list_exports,
    get_export,
    get_export_destination,
    put_export_destination,
    probe_export_destination,
    delete_export_destination,
    put_export_schedule,
):
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


@api.get("/restores/<uuid:restore_id>")
@api.auth_required(token_auth)
@api.output(ImportOut)
@api.doc(
    summary="One restore, with its progress, its refusal per file or the secrets to re-enter",
    responses=[403, 404],
)
def get_restore(restore_id: uuid.UUID):
    require_role("owner")
    return imports.get_tenant_import(g.tenant.id, restore_id).as_dict()


get_restore.allowed_when_read_only = True
