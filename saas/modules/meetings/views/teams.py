"""Team booking links (owners and admins): one link that offers the free slots of several members."""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import ValidationError
from saas.modules.meetings import teams
from saas.modules.meetings.blueprints import pages
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role


def _page(error: ValidationError | None = None, values: dict | None = None, status: int = 200):
    members = workspace_members(db.session, g.tenant.id)
    return (
        render_template(
            "meetings/teams.html",
            teams=teams.list_teams(current_tenant_session()),
            members=members,
            emails=dict(members),
            message=error.detail if error else None,
            errors=error.errors if error else {},
            values=values or {},
        ),
        status,
    )


@pages.get("/calendar/teams")
def team_links():
    require_role(*ADMIN_ROLES)
    return _page()


@pages.post("/calendar/teams")
def save_team_link():
    require_role(*ADMIN_ROLES)
    form = request.form
    chosen = []
    for value in form.getlist("members"):
        try:
            chosen.append(uuid.UUID(value))
        except ValueError:
            continue
    workspace = [user_id for user_id, _ in workspace_members(db.session, g.tenant.id)]
    try:
        teams.save_team(current_tenant_session(), form.to_dict(), chosen, workspace)
    except ValidationError as error:
        return _page(error, {**form.to_dict(), "members": [str(c) for c in chosen]}, 422)
    flash(gettext("Team link saved."))
    return redirect(url_for("meetings.team_links"))


@pages.post("/calendar/teams/<uuid:team_id>/delete")
def delete_team_link(team_id: uuid.UUID):
    require_role(*ADMIN_ROLES)
    teams.delete_team(current_tenant_session(), team_id)
    flash(gettext("Team link deleted."))
    return redirect(url_for("meetings.team_links"))
