"""Pages under /t/<slug>/vendor-imports: import from another CRM (upload, dry run, choices, progress, report).

Owners and admins only: an import defines custom fields and writes consent events.
"""

from __future__ import annotations

import uuid

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import SaasError, ValidationError
from saas.i18n import translate
from saas.modules.core.blueprints import pages
from saas.modules.core.imports import import_status_label
from saas.modules.core.vendor_imports import service
from saas.modules.core.vendor_imports.formats import VENDORS
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role

ROWS_SHOWN = 50


def _new_form(message: str | None = None, errors: dict | None = None, status: int = 200):
    session = current_tenant_session()
    return render_template(
        "core/vendor_import_new.html", vendors=VENDORS.values(), vendors_by_key=VENDORS,
        vendor=request.values.get("vendor", ""),
        message=message, errors=errors or {}, jobs=service.list_vendor_imports(session, limit=10),
        max_mb=service.MAX_UPLOAD_BYTES >> 20,
    ), status  # fmt: skip


@pages.route("/vendor-imports/new", methods=["GET", "POST"])
def new_vendor_import():
    require_role(*ADMIN_ROLES)
    if request.method == "GET":
        return _new_form()
    uploads = [u for u in request.files.getlist("files") if u.filename]
    try:
        job = service.create_vendor_import(
            current_tenant_session(), vendor=request.form.get("vendor", ""),
            files=[(u.filename or "upload.csv", u.stream.read(service.MAX_UPLOAD_BYTES + 1))
                   for u in uploads],
        )  # fmt: skip
    except ValidationError as error:
        return _new_form(error.detail, error.errors, status=422)
    return redirect(url_for("core.show_vendor_import", import_id=job.id))


@pages.route("/vendor-imports/<uuid:import_id>", methods=["GET", "POST"])
def show_vendor_import(import_id: uuid.UUID):
    """The dry run with the choices for unknown columns (editable while pending), then the progress."""
    require_role(*ADMIN_ROLES)
    session = current_tenant_session()
    job = service.get_vendor_import(session, import_id)
    message, errors, status = None, {}, 200
    if request.method == "POST":
        choices: dict[str, dict[str, str]] = {}
        for name, value in request.form.items():
            if name.startswith("choice:"):
                _, obj, column = name.split(":", 2)
                choices.setdefault(obj, {})[column] = value
        try:
            job = service.set_choices(session, import_id, choices)
            flash(gettext("The dry run was made again with your choices."))
            return redirect(url_for("core.show_vendor_import", import_id=import_id))
        except SaasError as error:
            message, errors, status = error.detail, getattr(error, "errors", {}), 422
    rows = service.report_rows(session, import_id, ROWS_SHOWN) if job.status != "pending" else []
    return render_template(
        "core/vendor_import_show.html", job=job, vendor=VENDORS[job.vendor], rows=rows, rows_shown=ROWS_SHOWN,
        message=message, errors=errors,
    ), status  # fmt: skip


@pages.route("/vendor-imports/<uuid:import_id>/start", methods=["POST"])
def start_vendor_import(import_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    session = current_tenant_session()
    service.get_vendor_import(session, import_id)  # another workspace's import: 404, not a message
    try:
        service.start_vendor_import(session, import_id)
        flash(gettext("Import started; this page follows its progress."))
    except SaasError as error:
        flash(translate(error.detail))
    return redirect(url_for("core.show_vendor_import", import_id=import_id))


@pages.route("/vendor-imports/<uuid:import_id>/progress")
def vendor_import_progress(import_id: uuid.UUID):
    """What the page polls while the import runs."""
    require_role(*ADMIN_ROLES)
    job = service.get_vendor_import(current_tenant_session(), import_id)
    return jsonify({**service.progress(job), "status_label": import_status_label(job.status)})


@pages.route("/vendor-imports/<uuid:import_id>/report.csv")
def vendor_import_report(import_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    return report_download(import_id)


def report_download(import_id: uuid.UUID) -> Response:
    """Every row not imported, as a CSV attachment; the API answers with the same."""
    filename, lines = service.report(current_tenant_session(), import_id)
    return Response(
        "".join(lines), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip
