"""The admin's export page: /t/<slug>/settings/export (owners and admins), the owners' page for the
workspace's own bucket: /t/<slug>/settings/export/destination, and the owner's restore of an archive into
an empty workspace: /t/<slug>/settings/restore."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from saas.auth.members import list_open_invitations
from saas.billing.entitlements import entitlements_for
from saas.db import db
from saas.errors import SaasError, ValidationError
from saas.exports import destinations, imports, services, storage
from saas.i18n import N_, translate
from saas.tenants.routing import current_tenant_session, require_role

export_pages = Blueprint("exports", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")


# The words the export page shows for the stored codes.
STATUS_LABELS = {
    "queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
    "expired": N_("expired"),
}  # fmt: skip
KIND_LABELS = {"manual": N_("manual"), "scheduled": N_("scheduled")}
FREQUENCY_LABELS = {"daily": N_("daily"), "weekly": N_("weekly")}


@export_pages.before_request
def _admins_only():
    require_role(*ADMIN_ROLES)


@export_pages.route("/settings/export")
def index():
    exports = services.list_exports(g.tenant.id)
    return render_template(
        "exports/index.html",
        exports=exports,
        schedule=services.get_schedule(g.tenant.id),
        storage_ready=storage.storage_configured(g.tenant.cell),
        busy=any(e.status in ("queued", "running") for e in exports),
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
        frequency_labels=FREQUENCY_LABELS,
    )


@export_pages.route("/settings/export", methods=["POST"])
def start():
    services.start_export(g.tenant.id, requested_by=str(current_user.id))
    flash(gettext("Export started. This page updates while it runs."))
    return redirect(url_for("exports.index"))


@export_pages.route("/settings/export/<uuid:export_id>/download")
def download(export_id: uuid.UUID):
    return redirect(services.download_link(g.tenant.id, export_id, actor=str(current_user.id)))


@export_pages.route("/settings/export/schedule", methods=["POST"])
def schedule():
    try:
        keep_days = int(request.form.get("keep_days", "30"))
    except ValueError:
        keep_days = -1
    services.set_schedule(
        g.tenant.id,
        frequency=request.form.get("frequency", ""),
        keep_days=keep_days,
        enabled=request.form.get("enabled") == "1",
        actor=str(current_user.id),
        hour=_optional_int(request.form.get("hour")),
        weekday=_optional_int(request.form.get("weekday")),
    )
    flash(gettext("Export schedule saved."))
    return redirect(url_for("exports.index"))


def _optional_int(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return -1  # refused by the service with its message


DESTINATION_FIELDS = ("kind", "bucket", "prefix", "region", "endpoint_url", "role_arn")


def _destination_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    destination = destinations.get_destination(g.tenant.id)
    summary = destinations.destination_summary(destination)
    return (
        render_template(
            "exports/destination.html",
            destination=summary,
            form=form or {name: summary[name] or "" for name in DESTINATION_FIELDS},
            errors=errors or {},
            schedule=services.get_schedule(g.tenant.id),
            our_principal=current_app.config["SAAS_SETTINGS"].export_role_principal,
        ),
        status,
    )


@export_pages.route("/settings/export/destination")
def destination():
    require_role("owner")
    return _destination_page()


@export_pages.route("/settings/export/destination", methods=["POST"])
def save_destination():
    require_role("owner")
    values = {name: request.form.get(name, "") for name in DESTINATION_FIELDS}
    secrets = {name: request.form.get(name, "") for name in ("access_key_id", "secret_access_key")}
    try:
        destinations.save_destination(
            g.tenant.id,
            {**values, **secrets, "enabled": request.form.get("enabled") == "1"},
            actor=str(current_user.id),
        )
    except ValidationError as error:
        # The form comes back without the secrets: they are never written into a page.
        return _destination_page(values, error.errors, 422)
    flash(gettext("Export destination saved."))
    return redirect(url_for("exports.destination"))


@export_pages.route("/settings/export/destination/probe", methods=["POST"])
def probe_destination():
    require_role("owner")
    destinations.probe_destination(g.tenant.id, actor=str(current_user.id))
    return redirect(url_for("exports.destination"))


@export_pages.route("/settings/export/destination/remove", methods=["POST"])
def remove_destination():
    require_role("owner")
    destinations.remove_destination(g.tenant.id, actor=str(current_user.id))
    flash(gettext("Export destination removed."))
    return redirect(url_for("exports.destination"))


# Leaving must stay possible when the subscription has lapsed: billing's read-only guard lets these through.
for view in (
    index,
    start,
    download,
    schedule,
    destination,
    save_destination,
    probe_destination,
    remove_destination,
):
    view.allowed_when_read_only = True


# -- restoring an archive into this (empty) workspace: owners ------------------------------------


def _upload():
    """The uploaded archive, allowed up to the import limit (the app's request limit is far lower)."""
    request.max_content_length = current_app.config["SAAS_SETTINGS"].import_max_bytes
    return request.files.get("archive")


@export_pages.route("/settings/restore")
def restore_page():
    require_role("owner")
    entitlements = entitlements_for(db.session, g.tenant.id)
    holding = imports.tables_with_records(current_tenant_session().connection())
    return render_template(
        "exports/restore.html",
        imports=imports.list_tenant_imports(g.tenant.id),
        holding=holding,
        read_only_reason=None if entitlements.can_write else entitlements.read_only_reason,
        storage_ready=storage.storage_configured(g.tenant.cell),
    )


@export_pages.route("/settings/restore", methods=["POST"])
def start_restore():
    require_role("owner")
    upload = _upload()
    if upload is None or not upload.filename:
        flash(gettext("Choose an archive (.zip) to restore."))
        return redirect(url_for("exports.restore_page"))
    try:
        record = imports.start_restore(g.tenant.id, g.membership, upload.stream)
    except SaasError as error:
        flash(translate(error.detail))
        return redirect(url_for("exports.restore_page"))
    return redirect(url_for("exports.restore_status", restore_id=record.id))


@export_pages.route("/settings/restore/<uuid:restore_id>")
def restore_status(restore_id: uuid.UUID):
    require_role("owner")
    record = imports.get_tenant_import(g.tenant.id, restore_id)
    return render_template(
        "exports/restore_status.html",
        record=record,
        progress_url=url_for("exports.restore_progress", restore_id=record.id),
        open_invitations=len(list_open_invitations(db.session, g.tenant.id)),
    )


@export_pages.route("/settings/restore/<uuid:restore_id>/progress")
def restore_progress(restore_id: uuid.UUID):
    """What the status page polls while the restore runs."""
    require_role("owner")
    return jsonify(imports.progress(imports.get_tenant_import(g.tenant.id, restore_id)))


@export_pages.route("/settings/restore/<uuid:restore_id>/invitations", methods=["POST"])
def send_invitations(restore_id: uuid.UUID):
    require_role("owner")
    imports.get_tenant_import(g.tenant.id, restore_id)
    mailed, not_mailed = imports.send_invitations(
        g.tenant.id, g.membership, lambda token: url_for("sso.invitation", token=token, _external=True)
    )
    if not_mailed:
        flash(
            gettext(
                "Mail is not configured on this server: %(count)s invitations were saved but not sent.",
                count=not_mailed,
            )
        )
    else:
        flash(gettext("%(count)s invitations sent.", count=mailed))
    return redirect(url_for("exports.restore_status", restore_id=restore_id))
