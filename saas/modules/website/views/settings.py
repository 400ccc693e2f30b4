"""The website settings page (owners and admins): the tracking snippet and its consent API, the sites it
may report from, how long raw page views are kept, and the most viewed pages of the last 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.modules.settings import ADMIN_ROLES
from saas.modules.website import rollup, site
from saas.modules.website.blueprints import pages
from saas.modules.website.consent import PURPOSE_KEY
from saas.tenants.routing import current_tenant_session, require_role


def _page(error: ValidationError | None = None, values: dict | None = None, status: int = 200):
    session = current_tenant_session()
    settings = site.get_settings(session)
    script = url_for("website_tracking.script", slug=g.tenant.slug, _external=True)
    since = datetime.now(UTC).date() - timedelta(days=30)
    return (
        render_template(
            "website/settings.html",
            snippet=f'<script src="{script}"></script>',
            settings=settings,
            purpose_key=PURPOSE_KEY,
            top_pages=rollup.top_pages(session, since),
            message=error.detail if error else None,
            errors=error.errors if error else {},
            values=values
            or {"origins": "\n".join(settings.origins), "retention_days": settings.retention_days},
        ),
        status,
    )


@pages.get("/website/settings")
def settings():
    require_role(*ADMIN_ROLES)
    return _page()


@pages.post("/website/settings")
def save_settings():
    require_role(*ADMIN_ROLES)
    form = request.form
    try:
        site.update_settings(current_tenant_session(), form.to_dict())
    except ValidationError as error:
        return _page(error, form.to_dict(), 422)
    flash(gettext("Website settings saved."))
    return redirect(url_for("website.settings"))
