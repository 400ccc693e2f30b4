"""API resources /api/v1/imports: upload a CSV file to import, follow it, fetch its error report."""

from __future__ import annotations

import json
import uuid

from apiflask.fields import File
from flask import request
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from saas.api import token_auth
from saas.errors import ValidationError
from saas.modules.core import imports
from saas.modules.core.blueprints import api
from saas.modules.core.schemas import list_of
from saas.modules.core.views.imports import error_report_download
from saas.tenants.routing import current_tenant_session
from saas.web.errors import problem


class ImportUploadIn(Schema):
    entity = fields.String(
        required=True,
        metadata={
            "description": "What the rows are, by table: `contacts`, `accounts`, `leads` (with the sales "
            "module on) or a custom object's `co_<key>`."
        },
    )
    file = File(required=True, metadata={"description": "UTF-8 CSV whose first row names the columns."})
    mapping = fields.String(
        load_default=None,
        metadata={
            "description": "JSON object of field → column header (or 0-based index), "
            'e.g. {"email": "E-Mail"}. Left out, columns are matched by their header names.'
        },
    )


class ImportJobOut(Schema):
    id = fields.UUID()
    entity = fields.String()
    filename = fields.String()
    status = fields.String(metadata={"description": "pending, queued, running, done or failed"})
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    imported_rows = fields.Integer()
    duplicate_rows = fields.Integer()
    error_rows = fields.Integer()
    message = fields.String(allow_none=True)
    columns = fields.Method("_columns", metadata={"description": "field → column header used"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)

    def _columns(self, job) -> dict[str, str]:
        headers = job.mapping.get("headers", [])
        return {name: headers[index] for name, index in job.mapping.get("columns", {}).items()}


ImportJobList = list_of(ImportJobOut)


def _mapping(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError("The mapping is not JSON.", {"mapping": [str(error)]}) from error
    if not isinstance(mapping, dict):
        raise ValidationError("The mapping must be a JSON object.", {"mapping": ["Give field → column."]})
    return mapping


@api.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    # Core's API takes other files too (exchange rates): only the import names the import's limit.
    if request.endpoint != "core_api.create_import":
        return problem(413, error.name, error.description or error.name)
    return problem(413, "File too large", imports.TOO_LARGE)


@api.post("/imports")
@api.auth_required(token_auth)
@api.input(ImportUploadIn, location="form_and_files")
@api.output(ImportJobOut, status_code=202)
@api.doc(
    summary="Import a CSV file of contacts, accounts, leads or a custom object's records",
    description="Checks the file and the mapping, then runs the import in the background; "
    "follow it at `/imports/{job_id}`.",
    responses=[413, 422],
)
def create_import(form_and_files_data: dict):
    session = current_tenant_session()
    upload = form_and_files_data["file"]
    job = imports.create_import(
        session,
        entity=form_and_files_data["entity"],
        filename=upload.filename or "upload.csv",
        content=upload.stream.read(imports.MAX_FILE_BYTES + 1),
        columns=_mapping(form_and_files_data["mapping"]),
    )
    return imports.start_import(session, job.id)


@api.get("/imports")
@api.auth_required(token_auth)
@api.output(ImportJobList)
@api.doc(summary="List recent imports", description="The 50 newest, newest first.")
def list_imports():
    return {"data": imports.list_imports(current_tenant_session())}


@api.get("/imports/<uuid:job_id>")
@api.auth_required(token_auth)
@api.output(ImportJobOut)
@api.doc(summary="Read an import's progress", responses=[404])
def read_import(job_id: uuid.UUID):
    return imports.get_import(current_tenant_session(), job_id)


@api.get("/imports/<uuid:job_id>/errors")
@api.auth_required(token_auth)
@api.doc(summary="Download an import's row errors as CSV", responses=[404])
def import_errors(job_id: uuid.UUID):
    return error_report_download(job_id)
