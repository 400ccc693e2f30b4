"""The public booking pages at /b/<slug>/<handle>: a user's free slots in the visitor's time zone and
language, and booking one.

No login; the form carries a CSRF token like every page form. Every way of not finding a link (unknown
workspace, module off, unknown handle, link switched off, user no longer a member) answers the same 404,
so the pages tell nobody which users exist. Handles are chosen by users, never their emails. Rate-limited
per client address, and bookings per visitor email too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.core import get_global
from babel.dates import format_date, format_time
from flask import abort, current_app, g, render_template, request

from saas.db import TenantSession, db
from saas.errors import Conflict, SaasError, ValidationError
from saas.extensions import limiter
from saas.i18n import current_locale, use_audience_locale
from saas.modules.meetings import booking, teams
from saas.modules.meetings.blueprints import booking as pages
from saas.modules.meetings.meetings import active_members, platform_user
from saas.modules.meetings.models import Booking, BookingSettings, BookingTeam
from saas.modules.meetings.slots import group_by_day
from saas.modules.switches import is_module_enabled, public_workspace
from saas.ratelimits import within_email_limit

PREFIX = "/b/<slug>/<handle>"


def _limit(name: str, default: str):
    """A rate limit per client address, overridable in the app's config (tests raise it)."""
    return limiter.limit(lambda: current_app.config.get(name, default))


@pages.url_value_preprocessor
def _bind_to_link(endpoint: str | None, values: dict | None) -> None:
    if endpoint == "booking.static":
        return
    handle = (values or {}).pop("handle", None)
    # Every missing link answers the same 404, the module switched off included.
    tenant = public_workspace(values)
    if tenant.status != "active" or not is_module_enabled(db.session, tenant.id, "meetings"):
        abort(404)
    use_audience_locale(tenant)
    # The app commits this session once the response is a success (one transaction per request).
    session = g.tenant_session = TenantSession(tenant.ref)
    settings = booking.link_for_handle(session, handle or "")
    if settings is not None and active_members(tenant.id, [settings.user_id]):
        user = platform_user(settings.user_id)
        g.booking_link = PublicLink(
            settings.handle, settings.title, user.email, settings.slot_minutes, settings
        )
    elif (team := teams.team_for_handle(session, handle or "")) is not None:
        g.booking_link = PublicLink(team.handle, team.title, team.title, None, team)
    else:
        abort(404)
    g.booking_tenant = tenant


@dataclass(frozen=True)
class PublicLink:
    """What a booking page offers: one user's link, or a team's."""

    handle: str
    title: str
    host: str
    """Whom the visitor meets: the user's email, or the team's title."""
    minutes: int | None
    """The meeting's length; a team's members may each have their own."""
    owner: BookingSettings | BookingTeam

    def free(self) -> list[datetime]:
        if isinstance(self.owner, BookingTeam):
            return list(teams.team_slots(g.tenant_session, self.owner))
        return booking.offered_slots(g.tenant_session, self.owner)

    def book(self, start: datetime, values: dict, locale: str | None) -> Booking:
        if isinstance(self.owner, BookingTeam):
            return teams.book_team_slot(g.tenant_session, self.owner, start, values, locale=locale)
        return booking.book_slot(g.tenant_session, self.owner, start, values, locale=locale)


@pages.url_defaults
def _add_link(endpoint: str, values: dict) -> None:
    if "booking_link" in g and endpoint != "booking.static":
        values.setdefault("slug", g.booking_tenant.slug)
        values.setdefault("handle", g.booking_link.handle)


def visitor_zone() -> tuple[str, bool]:
    """The visitor's time zone and whether they (or their browser's script) chose it: ``?tz=``, else the
    zone of the country of their browser's language where that country keeps one clock (``de-DE``),
    else the link's own zone."""
    chosen = request.values.get("tz")
    if booking.is_time_zone(chosen):
        return chosen, True
    for value, _quality in request.accept_languages:
        zone = _country_zone(value.replace("_", "-").rpartition("-")[2].upper() if "-" in value else "")
        if zone:
            return zone, False
    owner = g.booking_link.owner
    return (owner.time_zone if isinstance(owner, BookingSettings) else "UTC"), False


def _country_zone(territory: str) -> str | None:
    """The zone of a country whose zones all keep the same clock (one CLDR metazone); None elsewhere."""
    zones = get_global("territory_zones").get(territory) or []
    meta = get_global("meta_zones")
    return zones[0] if zones and len({meta.get(zone) for zone in zones}) == 1 else None


def _slots_page(message: str | None = None, status: int = 200):
    zone, chosen = visitor_zone()
    try:
        free = g.booking_link.free()
    except booking.CalendarUnavailable as error:
        free, message, status = [], error.detail, error.status
    locale = current_locale()
    days = [
        (
            format_date(day, "full", locale=locale),
            [
                (start.astimezone(UTC).isoformat(), format_time(start, "short", locale=locale))
                for start in starts
            ],
        )
        for day, starts in group_by_day(free, zone)
    ]
    return render_template(
        "meetings/booking.html",
        tenant=g.booking_tenant,
        link=g.booking_link,
        days=days,
        zone=zone,
        zone_chosen=chosen,
        time_zones=booking.sorted_time_zones(),
        message=message,
    ), status


def _start() -> datetime:
    try:
        start = datetime.fromisoformat(request.values.get("start", ""))
    except ValueError:
        abort(404)
    if start.tzinfo is None:
        abort(404)
    return start.astimezone(UTC)


def _when(start: datetime, zone: str) -> str:
    """A slot's day and time on the visitor's clock, with the zone's name."""
    local, locale = start.astimezone(ZoneInfo(zone)), current_locale()
    day, time = format_date(local.date(), "full", locale=locale), format_time(local, "short", locale=locale)
    return f"{day} {time} ({zone})"


def _form_page(start: datetime, errors: dict | None = None, values: dict | None = None, status: int = 200):
    zone, _ = visitor_zone()
    return render_template(
        "meetings/book.html",
        tenant=g.booking_tenant,
        link=g.booking_link,
        start=start.isoformat(),
        when=_when(start, zone),
        zone=zone,
        errors=errors or {},
        values=values or {},
    ), status


@pages.get(PREFIX)
@_limit("BOOKING_PAGE_RATE_LIMIT", "60 per minute")
def page():
    return _slots_page()


@pages.get(f"{PREFIX}/book")
@_limit("BOOKING_PAGE_RATE_LIMIT", "60 per minute")
def form():
    return _form_page(_start())


@pages.post(f"{PREFIX}/book")
@_limit("BOOKING_RATE_LIMIT", "10 per minute;30 per hour")
def book():
    start = _start()
    values = request.form.to_dict()
    email = (values.get("email") or "").strip()
    if email and not within_email_limit(
        "BOOKING_EMAIL_RATE_LIMIT", "5 per hour", email, scope=f"booking:{g.booking_tenant.id}"
    ):
        abort(429)
    try:
        made = g.booking_link.book(start, values, current_locale())
    except ValidationError as error:
        return _form_page(start, error.errors, values, 422)
    except Conflict as error:
        return _slots_page(error.detail, 409)
    except SaasError as error:
        return _slots_page(error.detail, error.status)
    return render_template(
        "meetings/booked.html",
        tenant=g.booking_tenant,
        link=g.booking_link,
        when=_when(made.starts_at, made.visitor_time_zone),
        email=made.visitor_email,
    ), 201
