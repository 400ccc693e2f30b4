"""The customer hub's branding (owners and admins)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.privacy import branding
from saas.modules.privacy.audit import staff_actor
from saas.modules.privacy.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/privacy/branding")
def branding_page():
    current = branding.branding(current_tenant_session(), g.tenant.slug)
    return render_template("privacy/branding.html", values=current.__dict__, errors={})


@pages.post("/privacy/branding")
def save_branding():
    try:
        branding.set_branding(current_tenant_session(), request.form, staff_actor())
    except ValidationError as error:
        page = render_template(
            "privacy/branding.html", values=request.form, errors=error.errors, message=translate(error.detail)
        )
        return page, 422
    flash(_("Privacy center branding saved."))
    return redirect(url_for("privacy.branding_page"))
