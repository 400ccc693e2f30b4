"""The admin's export page: /t/<slug>/settings/export (owners and admins)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from saas.exports import services, storage
from saas.tenants.routing import require_role

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
