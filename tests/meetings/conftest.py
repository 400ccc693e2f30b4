"""Meetings fixtures: one Radicale per test session (each test makes its own calendars in it), the
tenant owner's user id, a connected calendar, and the generous rate limits every test but the limits'
own needs (the test client has one address)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from saas.auth.models import User
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core.services import contacts
from saas.modules.meetings import booking, connections
from tests.conftest import TenantFixture, login
from tests.mailsink import mail_sink
from tests.meetings.radicale import USERS, Radicale, run_radicale

__all__ = ["mail_sink"]

LIMITS = ("BOOKING_PAGE_RATE_LIMIT", "BOOKING_RATE_LIMIT", "BOOKING_EMAIL_RATE_LIMIT")


@pytest.fixture(scope="session")
def radicale(tmp_path_factory) -> Iterator[Radicale]:
    with run_radicale(Path(tmp_path_factory.mktemp("radicale"))) as server:
        yield server


@pytest.fixture(autouse=True)
def caldav_on_loopback(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_ALLOW_LOOPBACK", True)
    for name in LIMITS:
        monkeypatch.setitem(app.config, name, "10000 per minute")


def user_id_of(fixture: TenantFixture) -> uuid.UUID:
    return db.session.scalar(select(User.id).where(User.email == fixture.email))


def connect(fixture: TenantFixture, radicale: Radicale, user: str = "alice") -> str:
    """Connect the tenant owner to a fresh calendar of ``user``; returns the calendar's URL."""
    calendar_url = radicale.new_calendar(user)
    with tenant_session(fixture.ref) as session:
        connections.connect_calendar(session, user_id_of(fixture), calendar_url, user, USERS[user])
    return calendar_url


def open_booking_link(fixture: TenantFixture, handle: str = "ann", **overrides) -> None:
    """The owner's booking link: every day 00:00-24:00 in UTC, half-hour slots, no notice."""
    data = {
        "handle": handle,
        "enabled": True,
        "title": "Intro call",
        "time_zone": "UTC",
        "work_days": "1234567",
        "start_minute": 0,
        "end_minute": 1440,
        "slot_minutes": 30,
        "buffer_minutes": 0,
        "notice_minutes": 60,
        "horizon_days": 3,
    } | overrides
    with tenant_session(fixture.ref) as session:
        booking.save_settings(session, user_id_of(fixture), data)


def make_contact(fixture: TenantFixture, email: str, last_name: str = "Doe") -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return contacts.create(session, {"first_name": "Jo", "last_name": last_name, "email": email}).id


def run_jobs() -> None:
    make_worker().work(burst=True)


@pytest.fixture
def owner_client(client: FlaskClient, tenant_a: TenantFixture) -> FlaskClient:
    login(client, tenant_a.email, tenant_a.password)
    return client


# The OAuth provider, and the mail servers that check its tokens, for calendars at a provider's CalDAV.
from tests.mailbox.conftest import configured, oauth_dovecot, oauth_sink, provider  # noqa: E402, F401
