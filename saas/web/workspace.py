"""Workspace pages every module shares, under /t/<slug>/: the dashboard, global search, the command
palette's answers, the keyboard shortcuts, the checklist, the settings hub.

Thin: each asks one service (``saas.web.dashboard``, ``.search``, ``.navigation``, ``.onboarding``,
``.settings_hub``) and renders.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, session, url_for

from saas.db import db
from saas.errors import ValidationError
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role
from saas.web.dashboard import PALETTE, chart, dashboard_cards
from saas.web.errors import problem
from saas.web.navigation import palette_items
from saas.web.onboarding import onboarding_steps
from saas.web.search import MAX_QUERY, global_search
from saas.web.settings_hub import settings_groups

workspace_pages = Blueprint("workspace", __name__)

HIDDEN_KEY = "onboarding_hidden"


def _checklist_shown() -> bool:
    return g.membership.role in ADMIN_ROLES and g.tenant.id not in session.get(HIDDEN_KEY, [])


def render_dashboard() -> str:
    """The dashboard (``core.dashboard`` at /t/<slug>/): the checklist while unfinished, then the charts."""
    tenant_session = current_tenant_session()
    steps = onboarding_steps(db.session, tenant_session, g.tenant.id) if _checklist_shown() else []
    cards = dashboard_cards(db.session, tenant_session, g.tenant.id)
    return render_template(
        "dashboard.html",
        cards=[(card, chart(card)) for card in cards],
        steps=steps if steps and not all(step.done for step in steps) else [],
        welcome=request.args.get("welcome") == "1",
        palette=PALETTE,
    )


@workspace_pages.route("/getting-started")
def getting_started():
    """The whole checklist, done or not (linked from the dashboard and after hiding it there)."""
    steps = onboarding_steps(db.session, current_tenant_session(), g.tenant.id)
    return render_template("getting_started.html", steps=steps, hidden=not _checklist_shown())


@workspace_pages.route("/getting-started/visibility", methods=["POST"])
def checklist_visibility():
    """Hide the checklist from the dashboard, or show it again (this browser session only)."""
    hidden = [tenant_id for tenant_id in session.get(HIDDEN_KEY, []) if tenant_id != g.tenant.id]
    if request.form.get("hide") == "1":
        hidden.append(g.tenant.id)
    session[HIDDEN_KEY] = hidden
    return redirect(url_for("core.dashboard"))


@workspace_pages.route("/search")
def search():
    query = request.args.get("q", "")
    groups, message = [], None
    if query.strip():
        try:
            groups = global_search(db.session, current_tenant_session(), g.tenant.id, query)
        except ValidationError as error:
            message = error.detail
    return render_template(
        "search.html", query=query, groups=groups, message=message, max_query=MAX_QUERY
    ), 422 if message else 200


@workspace_pages.route("/palette")
def palette() -> Response:
    """The command palette's choices for what was typed (``?q=``), JSON for ``static/command-palette.js``."""
    try:
        items = palette_items(
            db.session, current_tenant_session(), g.tenant.id, g.membership.role, request.args.get("q", "")
        )
    except ValidationError as error:
        # A JSON caller gets the problem document the API would send, not the error page.
        return problem(error.status, error.title, error.detail, **error.extra)
    return jsonify(items=[asdict(item) for item in items])


@workspace_pages.route("/shortcuts")
def shortcuts():
    """The keyboard shortcuts as a page: where the help overlay's link leads without JavaScript."""
    return render_template("shortcuts.html")


@workspace_pages.route("/settings")
def settings():
    """Every settings page, grouped (owners and admins; the pages themselves check the same)."""
    require_role(*ADMIN_ROLES)
    return render_template("settings.html", groups=settings_groups(db.session, g.tenant.id))
