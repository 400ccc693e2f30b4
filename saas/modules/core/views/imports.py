"""CSV import pages under /t/<slug>/imports: upload, map columns, dry run, start, follow, error report."""

from __future__ import annotations

import uuid

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from saas.errors import SaasError, ValidationError
from saas.i18n import translate
from saas.modules.core import imports
from saas.modules.core.blueprints import pages
from saas.modules.core.models import ImportJob
from saas.modules.registry import registry
from saas.tenants.routing import current_tenant_session
from saas.web.errors import PAGE_DETAILS, PAGE_TITLES

ERRORS_SHOWN = 50


pages.app_context_processor(
    lambda: {"import_status_label": imports.import_status_label, "record_type_plural": _record_type_plural}
)


def _record_type_plural(table: str) -> str:
    """What the workspace calls the records of ``table`` (``contacts``: Contacts), in the reader's words."""
    record_type = registry.record_type(current_tenant_session(), table)
    return translate(record_type.plural) if record_type is not None else table


@pages.route("/imports")
def list_imports():
    jobs = imports.list_imports(current_tenant_session())
    return render_template("core/imports_list.html", jobs=jobs)


def _upload_form(message: str | None = None, errors: dict | None = None, status: int = 200):
    entity = request.values.get("entity") or request.args.get("entity", "contacts")
    return render_template(
        "core/import_upload.html", targets=imports.importable(current_tenant_session()), entity=entity,
        message=message, errors=errors or {}, max_mb=imports.MAX_FILE_BYTES // 1_048_576,
    ), status  # fmt: skip


@pages.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    # Raised while the form is read for its CSRF token, before any view. Core's pages take other files
    # too (exchange rates): only the import's page names the import's limit.
    if request.endpoint != "core.new_import":
        title, detail = translate(PAGE_TITLES[413]), translate(PAGE_DETAILS[413])
        return render_template("error.html", status=413, title=title, detail=detail), 413
    title, detail = translate(PAGE_TITLES[413]), translate(imports.TOO_LARGE)
    return render_template("error.html", status=413, title=title, detail=detail), 413


@pages.route("/imports/new", methods=["GET", "POST"])
def new_import():
    if request.method == "GET":
        return _upload_form()
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError("Choose a CSV file to upload.", {"file": ["Choose a file."]})
        # Read one byte past the limit: enough to tell that a file is too large without reading all of it.
        content = upload.stream.read(imports.MAX_FILE_BYTES + 1)
        job = imports.create_import(
            current_tenant_session(), entity=request.form.get("entity", ""), filename=upload.filename,
            content=content,
        )  # fmt: skip
    except ValidationError as error:
        return _upload_form(error.detail, error.errors, status=422)
    return redirect(url_for("core.map_import", job_id=job.id))


def _mapping_form(job: ImportJob, columns: dict[str, int], error: ValidationError | None, status: int = 200):
    target = imports.import_target(current_tenant_session(), job.entity)
    return render_template(
        "core/import_mapping.html", job=job, target=target, columns=columns,
        message=error.detail if error else None, errors=error.errors if error else {},
    ), status  # fmt: skip


@pages.route("/imports/<uuid:job_id>/mapping", methods=["GET", "POST"])
def map_import(job_id: uuid.UUID):
    session = current_tenant_session()
    job = imports.get_import(session, job_id)
    if request.method == "GET":  # the suggestion, with a message already if a required column is missing
        return _mapping_form(job, job.mapping["columns"], imports.mapping_problem(session, job))
    target = imports.import_target(session, job.entity)
    columns = {f.name: request.form.get(f"column_{f.name}", "") for f in target.fields}
    try:
        imports.set_columns(session, job_id, columns)
    except ValidationError as error:
        chosen = {name: int(value) for name, value in columns.items() if value.isdigit()}
        return _mapping_form(job, chosen, error, status=422)
    return redirect(url_for("core.preview_import", job_id=job_id))


@pages.route("/imports/<uuid:job_id>/preview")
def preview_import(job_id: uuid.UUID):
    session = current_tenant_session()
    job = imports.get_import(session, job_id)
    preview = imports.preview_import(session, job_id)
    target = imports.import_target(session, job.entity)
    return render_template(
        "core/import_preview.html", job=job, target=target, preview=preview,
        dry_run_limit=imports.DRY_RUN_ROWS,
    )  # fmt: skip


@pages.route("/imports/<uuid:job_id>/start", methods=["POST"])
def start_import(job_id: uuid.UUID):
    session = current_tenant_session()
    imports.get_import(session, job_id)
    try:
        imports.start_import(session, job_id)
    except SaasError as error:
        flash(translate(error.detail))
        return redirect(url_for("core.show_import", job_id=job_id))
    flash(gettext("Import started; this page follows its progress."))
    return redirect(url_for("core.show_import", job_id=job_id))


@pages.route("/imports/<uuid:job_id>")
def show_import(job_id: uuid.UUID):
    session = current_tenant_session()
    job = imports.get_import(session, job_id)
    errors = session.scalars(imports.row_errors_query(job.id).limit(ERRORS_SHOWN)).all()
    return render_template("core/import_status.html", job=job, errors=errors, errors_shown=ERRORS_SHOWN)


@pages.route("/imports/<uuid:job_id>/progress")
def import_progress(job_id: uuid.UUID):
    """What the status page polls while the import runs."""
    job = imports.get_import(current_tenant_session(), job_id)
    return jsonify({**imports.progress(job), "status_label": imports.import_status_label(job.status)})


@pages.route("/imports/<uuid:job_id>/errors.csv")
def import_errors(job_id: uuid.UUID):
    return error_report_download(job_id)


def error_report_download(job_id: uuid.UUID) -> Response:
    """The error report as a CSV attachment; the API answers with the same."""
    filename, lines = imports.error_report(current_tenant_session(), job_id)
    # Built now, not streamed: the request's tenant session closes before a streamed body would run.
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
