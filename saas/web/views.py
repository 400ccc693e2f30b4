"""Public site pages (the landing page, the default terms and privacy notice) and the signed-in
user's list of workspaces."""

from __future__ import annotations

from babel.lists import format_list
from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from saas.billing.catalog import default_plan, plan_prices
from saas.billing.labels import unit_label
from saas.db import db
from saas.errors import NotFound
from saas.i18n import translate
from saas.modules.registry import registry

site_pages = Blueprint("site", __name__)


@site_pages.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("site.workspaces"))
    try:
        plan = default_plan(db.session)
    except NotFound:  # no plan seeded: the page still says what the product does
        plan = None
    return render_template(
        "index.html",
        plan=plan,
        prices=plan_prices(db.session, plan.key) if plan else [],
        module_keys={module.key for module in registry},
        # Joined per request, so the module names and the list's "and" are in the reader's language.
        switchable=format_list(
            [translate(module.title) for module in registry if not module.always_on], locale=get_locale()
        ),
        unit_label=unit_label,
    )


@site_pages.route("/terms")
def terms():
    return render_template("legal/terms.html")


@site_pages.route("/privacy")
def privacy_notice():
    return render_template("legal/privacy.html")


@site_pages.route("/workspaces")
@login_required
def workspaces():
    # A deactivated membership would only lead to a 404: list the workspaces still open to the person.
    active = [m for m in current_user.memberships if m.is_active]
    memberships = sorted(active, key=lambda m: m.tenant.name.lower())
    return render_template("workspaces.html", memberships=memberships)


@site_pages.app_context_processor
def _navigation():
    def workspace_sidebar():
        """The dashboard link and the sidebar's areas of the request's workspace (see ``navigation``)."""
        from flask import g, request

        from saas.tenants.routing import current_tenant_session
        from saas.web.navigation import sidebar, workspace_entries

        entries = workspace_entries(db.session, current_tenant_session(), g.tenant.id, g.membership.role)
        return sidebar(entries, request.path)

    return {"workspace_sidebar": workspace_sidebar}
