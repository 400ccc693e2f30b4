"""The notification centre (``/t/<slug>/notifications``): the signed-in member's own notifications, newest
first, marked read one by one, all at once, or by opening one; their digest choice; and the topbar's bell."""

from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.modules.notifications import services
from saas.modules.notifications.blueprints import pages
from saas.modules.notifications.links import link_of
from saas.modules.notifications.wording import sentence
from saas.tenants.routing import current_tenant_session


def _me() -> uuid.UUID:
    return g.membership.user_id


@pages.app_template_global()
def notification_bell() -> dict | None:
    """The bell's unread count for the signed-in member of the request's workspace (None elsewhere)."""
    if not (g.get("tenant") and g.get("membership")):
        return None
    return {"unread": services.unread_count(current_tenant_session(), _me())}


@pages.route("/notifications")
def notification_centre():
    session = current_tenant_session()
    unread_only = request.args.get("unread") == "1"
    page = services.list_for(session, _me(), unread=unread_only, cursor=request.args.get("cursor"))
    rows = [(row, sentence(row), link_of(session, row)) for row in page.data]
    filters = {"unread": "1"} if unread_only else {}
    next_url = page.next_cursor and url_for(
        "notifications.notification_centre", cursor=page.next_cursor, **filters
    )
    return render_template(
        "notifications/index.html",
        rows=rows,
        next_url=next_url,
        unread_only=unread_only,
        unread=services.unread_count(session, _me()),
        digest=services.takes_digest(session, _me()),
    )


@pages.route("/notifications/<uuid:notification_id>/open")
def open_notification(notification_id: uuid.UUID):
    """Follow a notification to its record, marking it read on the way."""
    session = current_tenant_session()
    row = services.mark_read(session, _me(), notification_id)
    return redirect(link_of(session, row) or url_for("notifications.notification_centre"), 303)


@pages.route("/notifications/<uuid:notification_id>/read", methods=["POST"])
def mark_notification_read(notification_id: uuid.UUID):
    services.mark_read(current_tenant_session(), _me(), notification_id)
    return redirect(url_for("notifications.notification_centre"), 303)


@pages.route("/notifications/read", methods=["POST"])
def mark_all_notifications_read():
    marked = services.mark_all_read(current_tenant_session(), _me())
    flash(gettext("%(count)s notifications marked read.", count=marked))
    return redirect(url_for("notifications.notification_centre"), 303)


@pages.route("/notifications/settings", methods=["POST"])
def notification_settings():
    choice = request.form.get("digest")
    if choice not in ("on", "off"):
        abort(400)
    services.set_digest(current_tenant_session(), _me(), choice == "on", request.host_url)
    flash(
        gettext("You will get a daily digest mail of your unread notifications.")
        if choice == "on"
        else gettext("No more digest mails.")
    )
    return redirect(url_for("notifications.notification_centre"), 303)
