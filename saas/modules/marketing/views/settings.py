"""The sender settings page (owners and admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.marketing import campaigns
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import pages
from saas.tenants.routing import current_tenant_session, require_role


@pages.get("/marketing/settings")
def settings_page():
    require_role("owner", "admin")
    return render_template(
        "marketing/settings.html",
        settings=campaigns.get_settings(current_tenant_session()),
        errors={},
        form=None,
    )


@pages.post("/marketing/settings")
def save_settings():
    require_role("owner", "admin")
    session = current_tenant_session()
    try:
        settings = campaigns.save_settings(session, request.form.to_dict())
    except ValidationError as error:
        page = render_template(
            "marketing/settings.html",
            settings=None,
            errors=error.errors,
            form=request.form,
            message=translate(error.detail),
        )
        return page, 422
    audit_marketing(session, "settings.changed", None, {"time_zone": settings.time_zone})
    flash(gettext("Sender settings saved."))
    return redirect(url_for("marketing.settings_page"))
