"""The tenant admin's page for switching modules: /t/<slug>/settings/modules."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from saas.db import db
from saas.i18n import translate
from saas.modules.registry import registry
from saas.modules.switches import enabled_module_keys, set_module_enabled
from saas.tenants.routing import require_role

settings_pages = Blueprint("module_settings", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")


@settings_pages.route("/settings/modules", methods=["GET", "POST"])
def modules():
    require_role(*ADMIN_ROLES)
    if request.method == "POST":
        key = request.form.get("module", "")
        enable = request.form.get("enabled") == "1"
        set_module_enabled(db.session, g.tenant.id, key, enable, actor=str(current_user.id))
        db.session.commit()
        title = translate(registry.get(key).title)  # marked with N_ in each module's declaration
        flash(
            gettext("%(module)s switched on.", module=title)
            if enable
            else gettext("%(module)s switched off.", module=title)
        )
        return redirect(url_for("module_settings.modules"))
    enabled = enabled_module_keys(db.session, g.tenant.id)
    return render_template("modules/settings.html", modules=list(registry), enabled=enabled)
