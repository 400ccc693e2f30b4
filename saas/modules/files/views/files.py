"""Staff pages of the files module under /t/<slug>/: upload to a record, open (through a fresh signed
link), download, delete. Each answers by going back to the record's page with a message."""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from saas.errors import NotFound, SaasError, ValidationError
from saas.i18n import translate
from saas.modules.core.activities import acting_user_id
from saas.modules.files import services
from saas.modules.files.blueprints import pages
from saas.modules.files.downloads import file_response
from saas.modules.registry import RecordType
from saas.tenants.routing import current_tenant_session


def _record_page(record_type: RecordType, record_id: uuid.UUID):
    return redirect(url_for(record_type.endpoint, **record_type.detail_arguments(record_id)))


def _record_id(value: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        raise NotFound("No such record.") from None


def _message_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise ValidationError("No such message on this record.") from None


@pages.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """Werkzeug refused the body unread: back to the page the form was on, which says why."""
    limit = services.megabytes(services.upload_limit_bytes() - services.FORM_OVERHEAD_BYTES)
    flash(gettext("The file is larger than %(limit)s; nothing was stored.", limit=limit), "error")
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return redirect(referrer)
    return redirect(url_for("core.dashboard"))


@pages.post("/files")
def upload_file():
    session = current_tenant_session()
    record_type = services.record_type_of(session, request.form.get("record_type", ""))
    record_id = _record_id(request.form.get("record_id"))
    services.require_record(session, record_type.table, record_id)
    upload = request.files.get("file")
    try:
        message_id = _message_id(request.form.get("message_id"))
        if upload is None or not upload.filename:
            flash(gettext("Choose a file to upload."), "error")
        else:
            stored = services.attach_file(
                session, record_type.table, record_id, upload.stream, upload.filename,
                user_id=acting_user_id(session), message_id=message_id,
            )  # fmt: skip
            flash(gettext("File attached: %(name)s", name=stored.name))
    except SaasError as error:
        flash(translate(error.detail), "error")
    return _record_page(record_type, record_id)


@pages.get("/files/<uuid:file_id>")
def open_file(file_id: uuid.UUID):
    """A member opening a file gets a fresh short-lived link to it (the only way to its bytes)."""
    token, _ = services.download_token(current_tenant_session(), file_id)
    return redirect(url_for("files.download_file", token=token, preview=request.args.get("preview")))


@pages.get("/files/download/<token>")
def download_file(token: str):
    session = current_tenant_session()
    stored = services.file_for_token(session, token)
    return file_response(session, stored, preview=request.args.get("preview") == "1")


@pages.post("/files/<uuid:file_id>/delete")
def delete_file(file_id: uuid.UUID):
    session = current_tenant_session()
    stored = services.delete_file(session, file_id)
    flash(gettext("File deleted: %(name)s", name=stored.name))
    return _record_page(services.record_type_of(session, stored.record_type), stored.record_id)
