"""The workspace language page for owners and admins: /t/<slug>/settings/language (default language
and time zone of the workspace's pages and mail; each person may still choose their own language)."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user

from saas.db import db
from saas.errors import ValidationError
from saas.i18n import LANGUAGES
from saas.tenants.language import set_workspace_language, time_zone_names
from saas.tenants.routing import install_tenant_page_routing, require_role

language_pages = Blueprint("workspace_language", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")


@language_pages.route("/settings/language", methods=["GET", "POST"])
def language_settings():
    require_role(*ADMIN_ROLES)
    tenant = g.membership.tenant
    error = None
    if request.method == "POST":
        try:
            set_workspace_language(
                db.session,
                tenant,
                request.form.get("locale", ""),
                request.form.get("time_zone", ""),
                actor=str(current_user.id),
            )
        except ValidationError as refused:
            db.session.rollback()
            error = refused.detail
        else:
            db.session.commit()
            refresh()  # the confirmation already speaks the new default
            flash(_("The workspace's language and time zone are saved."))
            return redirect(url_for("workspace_language.language_settings"))
    page = render_template(
        "workspace/language.html",
        languages=LANGUAGES,
        time_zones=time_zone_names(),
        tenant=tenant,
        error=error,
    )
    return page, 422 if error else 200


def register_language_pages(app: Flask) -> None:
    install_tenant_page_routing(language_pages)
    app.register_blueprint(language_pages, url_prefix="/t/<slug>")
