"""A user's calendar server that does not answer: a booking is refused with a 503 page and nothing is
booked; the sync job records the failure, keeps its token and picks up from there once it answers."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.embedded import free_loopback_port
from saas.modules.meetings import sync
from saas.modules.meetings.models import Booking, CalendarConnection, Meeting
from tests.meetings.conftest import connect, open_booking_link, run_jobs
from tests.meetings.test_booking import book, offered


def _point_at_nothing(fixture) -> str:
    """Move the connection to a port where nothing listens; returns the calendar's real address."""
    with tenant_session(fixture.ref) as session:
        connection = session.scalar(select(CalendarConnection))
        real = connection.calendar_url
        connection.calendar_url = f"http://127.0.0.1:{free_loopback_port()}/alice/gone/"
        return real


def test_a_booking_while_the_calendar_is_down_is_refused_and_leaves_nothing(client, tenant_a, radicale):
    connect(tenant_a, radicale)
    open_booking_link(tenant_a)
    run_jobs()
    start = offered(client, f"/b/{tenant_a.slug}/ann")[0]
    _point_at_nothing(tenant_a)
    answer = book(client, tenant_a.slug, start, "vera@example.com")
    assert answer.status_code == 503 and "cannot be reached" in answer.text
    page = client.get(f"/b/{tenant_a.slug}/ann")
    assert page.status_code == 503 and "cannot be reached" in page.text and "data-slot" not in page.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
        assert session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_a_failed_sync_keeps_its_token_and_says_so(tenant_a, radicale):
    connect(tenant_a, radicale)
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        connection = session.scalar(select(CalendarConnection))
        token, connection_id = connection.sync_token, str(connection.id)
    assert token
    real = _point_at_nothing(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        assert "failed" in sync.sync_calendar(session, connection_id)
    with tenant_session(tenant_a.ref) as session:
        connection = session.scalar(select(CalendarConnection))
        assert connection.last_error and connection.sync_token == token
        connection.calendar_url = real
    with tenant_session(tenant_a.ref) as session:
        assert sync.sync_calendar(session, connection_id) == {"changes": 0, "recorded": 0}
        assert session.scalar(select(CalendarConnection)).last_error is None
