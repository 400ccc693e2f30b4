"""Scheduling a meeting with a contact from their page (the meetings panel's form)."""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext

from saas.errors import NotFound, ValidationError
from saas.i18n import from_local_input, translate
from saas.modules.core.models import Contact
from saas.modules.meetings.blueprints import pages
from saas.modules.meetings.meetings import schedule_meeting
from saas.tenants.routing import current_tenant_session


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
                "starts_at": from_local_input(form.get("starts_at")),
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
