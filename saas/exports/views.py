"""The admin's export page: /t/<slug>/settings/export (owners and admins), and the owner's restore of an
archive into an empty workspace: /t/<slug>/settings/restore."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth.members import list_open_invitations
from saas.billing.entitlements import entitlements_for
from saas.db import db
from saas.errors import SaasError
from saas.exports import imports, services, storage
from saas.tenants.routing import current_tenant_session, require_role

export_pages = Blueprint("exports", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")


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
        storage_ready=storage.storage_configured(),
        busy=any(e.status in ("queued", "running") for e in exports),
    )


@export_pages.route("/settings/export", methods=["POST"])
def start():
    services.start_export(g.tenant.id, requested_by=str(current_user.id))
    flash("Export started. This page updates while it runs.")
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
    )
    flash("Export schedule saved.")
    return redirect(url_for("exports.index"))


# Leaving must stay possible when the subscription has lapsed: billing's read-only guard lets these through.
for view in (index, start, download, schedule):
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
        storage_ready=storage.storage_configured(),
    )


@export_pages.route("/settings/restore", methods=["POST"])
def start_restore():
    require_role("owner")
    upload = _upload()
    if upload is None or not upload.filename:
        flash(_("Choose an archive (.zip) to restore."))
        return redirect(url_for("exports.restore_page"))
    try:
        record = imports.start_restore(g.tenant.id, g.membership, upload.stream)
    except SaasError as error:
        flash(error.detail)
        return redirect(url_for("exports.restore_page"))
    return redirect(url_for("exports.restore_status", import_id=record.id))


@export_pages.route("/settings/restore/<uuid:import_id>")
def restore_status(import_id: uuid.UUID):
    require_role("owner")
    record = imports.get_tenant_import(g.tenant.id, import_id)
    return render_template(
        "exports/restore_status.html",
        record=record,
        progress_url=url_for("exports.restore_progress", import_id=record.id),
        open_invitations=len(list_open_invitations(db.session, g.tenant.id)),
    )


@export_pages.route("/settings/restore/<uuid:import_id>/progress")
def restore_progress(import_id: uuid.UUID):
    """What the status page polls while the restore runs."""
    require_role("owner")
    return jsonify(imports.progress(imports.get_tenant_import(g.tenant.id, import_id)))


@export_pages.route("/settings/restore/<uuid:import_id>/invitations", methods=["POST"])
def send_invitations(import_id: uuid.UUID):
    require_role("owner")
    imports.get_tenant_import(g.tenant.id, import_id)
    mailed, not_mailed = imports.send_invitations(
        g.tenant.id, g.membership, lambda token: url_for("sso.invitation", token=token, _external=True)
    )
    if not_mailed:
        flash(
            _(
                "Mail is not configured on this server: %(count)s invitations were saved but not sent.",
                count=not_mailed,
            )
        )
    else:
        flash(_("%(count)s invitations sent.", count=mailed))
    return redirect(url_for("exports.restore_status", import_id=import_id))
