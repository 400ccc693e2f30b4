"""The user's calendar over CalDAV (the ``caldav`` library): finding the calendar at the address a user
gives, writing and removing a meeting's event, reading what changed since the last sync (RFC 6578
sync-token; the library falls back to comparing etags where a server has none), and busy times
(free-busy query, or the events themselves where a server does not answer one).

Addresses pass the same guard as webhooks: no private, loopback or link-local hosts (loopback only with
``CALDAV_ALLOW_LOOPBACK``, the tests' Radicale)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from caldav import Calendar as DavCalendar
from caldav import DAVClient
from caldav.lib import error as dav_error
from flask import current_app

from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.meetings import ical
from saas.webhooks.ssrf import UnsafeWebhookURL, vet_webhook_url

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20

CalendarUnreachable = (dav_error.DAVError, OSError, ValueError)
"""What a CalDAV exchange raises when the server is down, refuses us, or answers nonsense."""


@dataclass(frozen=True)
class Credentials:
    url: str
    username: str
    password: str
    bearer: str | None = None
    """An OAuth access token, sent instead of the user name and password."""


class BearerAuth:
    """``Authorization: Bearer`` on every request (what an OAuth provider's CalDAV endpoint takes)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


@dataclass(frozen=True)
class Change:
    """An event that changed since the last sync; ``data`` is None when it was deleted."""

    href: str
    etag: str | None
    data: str | None


def loopback_allowed() -> bool:
    """``CALDAV_ALLOW_LOOPBACK`` (``1``, ``true``; the tests' Radicale listens on loopback)."""
    return str(current_app.config.get("CALDAV_ALLOW_LOOPBACK", "")).lower() in ("1", "true", "yes", "on")


def check_address(url: str) -> str:
    """``url`` if it is an http(s) address of a public host; a ValidationError on ``url`` otherwise."""
    try:
        return vet_webhook_url(url, allow_loopback=loopback_allowed()).url
    except UnsafeWebhookURL as error:
        raise ValidationError(N_("Calendar address refused."), {"url": [error.reason]}) from None


@contextmanager
def _client(credentials: Credentials) -> Iterator[DAVClient]:
    check_address(credentials.url)
    login: dict = (
        {"auth": BearerAuth(credentials.bearer)}
        if credentials.bearer
        else {"username": credentials.username, "password": credentials.password}
    )
    with DAVClient(
        url=credentials.url,
        **login,
        timeout=TIMEOUT_SECONDS,
        enable_rfc6764=False,  # the address is the one we vetted, never one DNS records point to
    ) as client:
        yield client


@contextmanager
def open_calendar(credentials: Credentials, calendar_url: str) -> Iterator[DavCalendar]:
    check_address(calendar_url)
    with _client(credentials) as client:
        yield DavCalendar(client=client, url=calendar_url)


def find_calendar(credentials: Credentials) -> str:
    """The calendar at ``credentials.url``: the calendar itself when the address names one, else the
    account's first calendar. A ValidationError says what went wrong in words a user can act on."""
    try:
        with _client(credentials) as client:
            calendars = client.principal().get_calendars()
    except dav_error.AuthorizationError:
        raise ValidationError(
            N_("The calendar server refused this user name and password."),
            {"password": [N_("Refused by the server.")]},
        ) from None
    except CalendarUnreachable as error:
        log.info("CalDAV discovery failed: %s", type(error).__name__)
        raise ValidationError(
            N_("No CalDAV calendar answered at this address."),
            {"url": [N_("No CalDAV server answered here.")]},
        ) from None
    if not calendars:
        raise ValidationError(
            N_("This account has no calendar."), {"url": [N_("The account has no calendar.")]}
        )
    wanted = credentials.url.rstrip("/")
    chosen = next((c for c in calendars if str(c.url).rstrip("/") == wanted), calendars[0])
    return str(chosen.url)


def put_event(calendar: DavCalendar, data: bytes) -> tuple[str, str | None]:
    """Create or replace the event (stored under its UID); returns its address and etag."""
    event = calendar.save_event(data.decode())
    etag = (getattr(event, "props", None) or {}).get("{DAV:}getetag")
    return str(event.url), etag


def changes_since(calendar: DavCalendar, sync_token: str | None) -> tuple[list[Change], str | None]:
    """Events added, changed or deleted since ``sync_token`` (all of them without one) and the new
    token. An expired token makes the library start over: changes are idempotent by UID anyway."""
    collection = calendar.get_objects_by_sync_token(sync_token, load_objects=True)
    changes = [
        Change(
            href=str(item.url),
            etag=(getattr(item, "props", None) or {}).get("{DAV:}getetag"),
            data=item.data if item.data else None,
        )
        for item in collection
    ]
    return changes, collection.sync_token


def busy_between(calendar: DavCalendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar's busy periods overlapping [start, end)."""
    try:
        return ical.busy_periods(calendar.freebusy_request(start, end).data)
    except (dav_error.DAVError, ValueError):
        # Not every server answers free-busy queries: read the events (recurrences expanded) instead.
        periods = []
        for item in calendar.search(start=start, end=end, event=True, expand=True):
            periods += [
                (event.starts_at, event.ends_at)
                for event in ical.read_events(item.data, occurrences=True)
                if not event.cancelled
            ]
        return periods
