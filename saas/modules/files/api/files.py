"""API resources /api/v1/files: upload a file to a record (multipart), list a record's files, get a
short-lived download link, download through it, delete."""

from __future__ import annotations

import uuid

from apiflask.fields import File
from flask import url_for
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from saas.api import token_auth
from saas.modules.core.activities import acting_user_id
from saas.modules.core.schemas import list_of
from saas.modules.files import services
from saas.modules.files.blueprints import api
from saas.modules.files.downloads import file_response
from saas.tenants.routing import current_tenant_session
from saas.web.errors import problem


class FileUploadIn(Schema):
    record_type = fields.String(
        required=True, validate=validate.Length(min=1, max=63),
        metadata={"description": "The record's type, as its table: contacts, accounts, leads, deals, "
                  "tickets, or a custom object's (co_<key>)."},
    )  # fmt: skip
    record_id = fields.UUID(required=True)
    message_id = fields.UUID(
        load_default=None,
        metadata={"description": "One of the record's messages the file comes with (a ticket reply)."},
    )
    file = File(required=True, metadata={"description": "The file; its kind is read from its content."})


class FileListQuery(Schema):
    record_type = fields.String(required=True, validate=validate.Length(min=1, max=63))
    record_id = fields.UUID(required=True)


class FileOut(Schema):
    id = fields.UUID()
    record_type = fields.String()
    record_id = fields.UUID()
    message_id = fields.UUID(
        allow_none=True, metadata={"description": "The record's message it came with (a ticket reply)."}
    )
    name = fields.String()
    content_type = fields.String(metadata={"description": "As read from the content, not as declared."})
    size_bytes = fields.Integer()
    sha256 = fields.String()
    uploaded_by_user_id = fields.UUID(allow_none=True)
    uploaded_by_contact_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class FileLinkOut(Schema):
    url = fields.String(metadata={"description": "GET it with the same bearer token before it expires."})
    expires_at = fields.DateTime()


@api.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    limit = services.megabytes(services.upload_limit_bytes() - services.FORM_OVERHEAD_BYTES)
    return problem(413, "File too large", f"Files of at most {limit} are accepted (FILES_MAX_BYTES).")


@api.post("/files")
@api.auth_required(token_auth)
@api.input(FileUploadIn, location="form_and_files")
@api.output(FileOut, status_code=201)
@api.doc(
    summary="Attach a file to a record",
    description="`multipart/form-data`. The file is streamed to storage; refused when larger than "
    "`FILES_MAX_BYTES`, when the workspace would hold more than `FILES_WORKSPACE_MAX_BYTES` (413), "
    "or when it is a program or a web page (415).",
    responses=[404, 413, 415, 422],
)
def upload_file(form_and_files_data: dict):
    session = current_tenant_session()
    upload = form_and_files_data["file"]
    return services.attach_file(
        session,
        form_and_files_data["record_type"],
        form_and_files_data["record_id"],
        upload.stream,
        upload.filename,
        user_id=acting_user_id(session),
        message_id=form_and_files_data["message_id"],
    )


@api.get("/files")
@api.auth_required(token_auth)
@api.input(FileListQuery, location="query")
@api.output(list_of(FileOut))
@api.doc(summary="List a record's files", responses=[404])
def list_files(query_data: dict):
    session = current_tenant_session()
    return {"data": services.list_files(session, query_data["record_type"], query_data["record_id"])}


@api.get("/files/<uuid:file_id>")
@api.auth_required(token_auth)
@api.output(FileOut)
@api.doc(summary="Get a file's details", responses=[404])
def get_file(file_id: uuid.UUID):
    return services.get_file(current_tenant_session(), file_id)


@api.get("/files/<uuid:file_id>/link")
@api.auth_required(token_auth)
@api.output(FileLinkOut)
@api.doc(
    summary="Get a short-lived download link",
    description="The link lasts `FILES_LINK_SECONDS` and serves only to this workspace's credentials.",
    responses=[404],
)
def get_file_link(file_id: uuid.UUID):
    token, expires_at = services.download_token(current_tenant_session(), file_id)
    return {"url": url_for("files_api.download_file", token=token, _external=True), "expires_at": expires_at}


@api.get("/files/download/<token>")
@api.auth_required(token_auth)
@api.doc(
    summary="Download a file through its link",
    description="Always an attachment, with `X-Content-Type-Options: nosniff`.",
    responses={200: "The file's bytes.", 404: "Not Found", 410: "The link has expired."},
)
def download_file(token: str):
    session = current_tenant_session()
    return file_response(session, services.file_for_token(session, token))


@api.delete("/files/<uuid:file_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a file", description="Its stored bytes go with it.", responses=[404])
def delete_file(file_id: uuid.UUID):
    services.delete_file(current_tenant_session(), file_id)
    return ""
