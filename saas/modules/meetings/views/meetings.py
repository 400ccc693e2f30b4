"""Scheduling a meeting with a contact from their page (the meetings panel's form)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext

from saas.errors import NotFound, ValidationError
from saas.i18n import select_time_zone, translate
from saas.modules.core.models import Contact
from saas.modules.meetings.blueprints import pages
from saas.modules.meetings.meetings import schedule_meeting
from saas.tenants.routing import current_tenant_session


def _local_start(value: str | None) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` from a datetime-local field, on the reader's own clock."""
    try:
        return datetime.fromisoformat(value or "").replace(tzinfo=ZoneInfo(select_time_zone()))
    except ValueError:
        return None


@pages.post("/contacts/<uuid:contact_id>/meetings")
def schedule(contact_id: uuid.UUID):
    form = request.form
    session = current_tenant_session()
    if session.get(Contact, contact_id) is None:
        raise NotFound("No such contact.")
    back = url_for("core.show_contacts", record_id=contact_id) + "#meetings"
    try:
        schedule_meeting(
            session,
            g.membership.user_id,
            {
                "contact_id": contact_id,
                "title": form.get("title"),
                "starts_at": _local_start(form.get("starts_at")),
                "minutes": form.get("minutes"),
                "location": form.get("location"),
                "description": form.get("description"),
                "invite": form.get("invite") == "1",
            },
        )
    except ValidationError as error:
        flash(translate(error.detail), "error")
        return redirect(back)
    flash(gettext("Meeting scheduled; it goes to your calendar in a moment."))
    return redirect(back)
