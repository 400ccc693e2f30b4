"""API resources /api/v1/vendor-imports: bring in another CRM's export after a dry run, follow it, and
fetch the report of rows not imported. Owners and admins only."""

from __future__ import annotations

import uuid

from apiflask.fields import File
from marshmallow import Schema, fields

from saas.api import token_auth
from saas.modules.core.blueprints import api
from saas.modules.core.vendor_imports import service
from saas.modules.core.vendor_imports.formats import VENDORS
from saas.modules.core.views.vendor_imports import report_download
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role


class VendorImportIn(Schema):
    vendor = fields.String(required=True, metadata={"description": f"One of {', '.join(VENDORS)}."})
    file = File(
        required=True,
        metadata={"description": "The export: a ZIP of the CRM's CSV files (Salesforce's Data Export ZIP), "
                  "or one CSV file."},
    )  # fmt: skip


class VendorImportChoicesIn(Schema):
    choices = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()), required=True,
        metadata={"description": "Per object, per unknown column: `custom` (becomes a custom field) or "
                  "`ignore`, e.g. {\"Contact\": {\"Tier__c\": \"custom\"}}."},
    )  # fmt: skip


class VendorImportOut(Schema):
    id = fields.UUID()
    vendor = fields.String()
    filename = fields.String()
    status = fields.String(metadata={"description": "pending, queued, running, done or failed"})
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    imported_rows = fields.Integer()
    duplicate_rows = fields.Integer()
    skipped_rows = fields.Integer(metadata={"description": "Rows an earlier run imported already."})
    error_rows = fields.Integer()
    message = fields.String(allow_none=True)
    choices = fields.Dict(metadata={"description": "Per object, per unknown column: custom or ignore."})
    dry_run = fields.Dict(
        metadata={"description": "Per object: rows, new, duplicates, already_imported, refused, samples of "
                  "rows not imported with the reason, and the unknown columns."},
    )  # fmt: skip
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


def _admin_session():
    require_role(*ADMIN_ROLES)
    return current_tenant_session()


@api.post("/vendor-imports")
@api.auth_required(token_auth)
@api.input(VendorImportIn, location="form_and_files")
@api.output(VendorImportOut, status_code=201)
@api.doc(
    summary="Upload another CRM's export and get its dry run",
    description="Checks the export (a refused one stores nothing) and answers with the dry run; start it "
    "with `POST /vendor-imports/{import_id}/start`.",
    responses=[403, 422],
)
def create_vendor_import(form_and_files_data: dict):
    session = _admin_session()
    upload = form_and_files_data["file"]
    content = upload.stream.read(service.MAX_UPLOAD_BYTES + 1)
    return service.create_vendor_import(
        session, vendor=form_and_files_data["vendor"], files=[(upload.filename or "upload.zip", content)]
    )


@api.get("/vendor-imports/<uuid:import_id>")
@api.auth_required(token_auth)
@api.output(VendorImportOut)
@api.doc(summary="Read an import from another CRM: its dry run and progress", responses=[403, 404])
def read_vendor_import(import_id: uuid.UUID):
    return service.get_vendor_import(_admin_session(), import_id)


@api.patch("/vendor-imports/<uuid:import_id>")
@api.auth_required(token_auth)
@api.input(VendorImportChoicesIn)
@api.output(VendorImportOut)
@api.doc(
    summary="Edit what unknown columns become; the dry run is made again", responses=[403, 404, 409, 422]
)
def update_vendor_import(import_id: uuid.UUID, json_data: dict):
    return service.set_choices(_admin_session(), import_id, json_data["choices"])


@api.post("/vendor-imports/<uuid:import_id>/start")
@api.auth_required(token_auth)
@api.output(VendorImportOut, status_code=202)
@api.doc(summary="Start (or resume) an import from another CRM", responses=[403, 404, 409])
def start_vendor_import(import_id: uuid.UUID):
    return service.start_vendor_import(_admin_session(), import_id)


@api.get("/vendor-imports/<uuid:import_id>/report")
@api.auth_required(token_auth)
@api.doc(summary="Download the rows an import from another CRM did not import, as CSV", responses=[403, 404])
def vendor_import_report(import_id: uuid.UUID):
    _admin_session()
    return report_download(import_id)
