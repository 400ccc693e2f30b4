"""A user's own calendar page: connect (or disconnect) their CalDAV calendar, and set up their booking
link. Every member manages only their own."""

from __future__ import annotations

from babel.dates import get_day_names
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import current_locale
from saas.modules.meetings import booking, connections
from saas.modules.meetings.blueprints import pages
from saas.modules.meetings.slots import Availability
from saas.tenants.routing import current_tenant_session


def _days() -> list[tuple[str, str]]:
    """ISO weekday numbers with their names in the reader's language, Monday first."""
    names = get_day_names("abbreviated", locale=current_locale())
    return [(str(day + 1), names[day]) for day in range(7)]


DEFAULTS = Availability("UTC", "12345", 9 * 60, 17 * 60, 30, 0, 120, 14)


def _page(error: ValidationError | None = None, values: dict | None = None, status: int = 200):
    session = current_tenant_session()
    user_id = g.membership.user_id
    settings = booking.settings_of(session, user_id)
    link = (
        url_for("booking.page", slug=g.tenant.slug, handle=settings.handle, _external=True)
        if settings is not None and settings.enabled
        else None
    )
    return (
        render_template(
            "meetings/settings.html",
            connection=connections.connection_of(session, user_id),
            calendar_provider=connections.calendar_provider_of(session, user_id),
            settings=settings or DEFAULTS,
            has_settings=settings is not None,
            link=link,
            days=_days(),
            time_zones=booking.sorted_time_zones(),
            message=error.detail if error else None,
            errors=error.errors if error else {},
            values=values or {},
        ),
        status,
    )


@pages.get("/calendar")
def settings():
    return _page()


@pages.post("/calendar/connection")
def connect():
    form = request.form
    try:
        connections.connect_calendar(
            current_tenant_session(),
            g.membership.user_id,
            form.get("url", ""),
            form.get("username", ""),
            form.get("password", ""),
        )
    except ValidationError as error:
        return _page(error, {"url": form.get("url"), "username": form.get("username")}, 422)
    flash(gettext("Calendar connected. Meetings with your contacts will appear on their timelines."))
    return redirect(url_for("meetings.settings"))


@pages.post("/calendar/connection/provider")
def connect_provider():
    try:
        connections.connect_provider_calendar(current_tenant_session(), g.membership.user_id)
    except ValidationError as error:
        return _page(error, status=422)
    flash(gettext("Calendar connected. Meetings with your contacts will appear on their timelines."))
    return redirect(url_for("meetings.settings"))


@pages.post("/calendar/connection/delete")
def disconnect():
    connections.disconnect_calendar(current_tenant_session(), g.membership.user_id)
    flash(gettext("Calendar disconnected; its password is forgotten."))
    return redirect(url_for("meetings.settings"))


@pages.post("/calendar/booking")
def save_booking():
    form = request.form
    data = {**form.to_dict(), "work_days": "".join(form.getlist("work_days"))}
    for name in ("start", "end"):
        hours, _, minutes = (form.get(f"{name}_time") or "").partition(":")
        data[f"{name}_minute"] = (
            int(hours) * 60 + int(minutes) if hours.isdigit() and minutes.isdigit() else None
        )
    data["end_minute"] = 1440 if data["end_minute"] == 0 else data["end_minute"]
    try:
        booking.save_settings(current_tenant_session(), g.membership.user_id, data)
    except ValidationError as error:
        return _page(error, data, 422)
    flash(gettext("Booking link saved."))
    return redirect(url_for("meetings.settings"))
