"""A calendar connected through the OAuth provider the member's mailbox uses: its CalDAV endpoint (a
Radicale that takes bearer tokens, checking each at the provider) with the mailbox's token, synced
like any calendar; a grant the provider revoked stops it as a refusing server does, and another
workspace's member finds no provider calendar to connect."""

from __future__ import annotations

import caldav
import pytest
from sqlalchemy import select

from saas.auth.crypto import decrypt_secret
from saas.db import tenant_session
from saas.modules.mailbox.models import Mailbox
from saas.modules.mailbox.sync import sync_mailbox
from saas.modules.meetings.caldav_access import BearerAuth
from saas.modules.meetings.models import CalendarConnection, Meeting
from saas.modules.meetings.sync import sync_calendar
from tests.conftest import csrf_token_from, login
from tests.mailbox.conftest import SALES
from tests.mailbox.oauth_fixtures import connect_through_provider
from tests.meetings.conftest import make_contact
from tests.meetings.radicale import run_radicale

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:oauth-calendar-1@test
DTSTAMP:20261201T090000Z
DTSTART:20261210T100000Z
DTEND:20261210T110000Z
SUMMARY:Demo with Olga
ORGANIZER:mailto:sales@seller.example
ATTENDEE:mailto:olga@cust.example
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def bearer_radicale(provider, tmp_path):
    with run_radicale(tmp_path, bearer_introspection_url=provider.introspection_url) as server:
        yield server


@pytest.fixture
def with_caldav(app, monkeypatch, configured, bearer_radicale):
    """The operator's provider also names its CalDAV endpoint."""
    providers = [dict(entry, caldav_url=bearer_radicale.url) for entry in app.config["MAIL_OAUTH_PROVIDERS"]]
    monkeypatch.setitem(app.config, "MAIL_OAUTH_PROVIDERS", providers)
    return configured


def _token_of(fixture) -> str:
    with tenant_session(fixture.ref) as session:
        return decrypt_secret(session.scalar(select(Mailbox)).access_token_encrypted)


def _calendar_with_event(radicale_url: str, token: str) -> None:
    """The member's calendar at the provider, with a meeting already in it (put there with their token)."""
    with caldav.DAVClient(url=radicale_url, auth=BearerAuth(token), enable_rfc6764=False) as client:
        client.principal().make_calendar(name="Work", cal_id="work").save_event(EVENT)


def _connection(fixture) -> CalendarConnection | None:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(CalendarConnection))


def test_the_provider_calendar_connects_with_the_mailbox_token_and_syncs(
    client, tenant_a, with_caldav, bearer_radicale, app_ctx
):
    make_contact(tenant_a, "olga@cust.example")
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    _calendar_with_event(bearer_radicale.url, _token_of(tenant_a))

    page = client.get(f"/t/{tenant_a.slug}/calendar")
    assert "data-provider-calendar" in page.text
    connected = client.post(
        f"/t/{tenant_a.slug}/calendar/connection/provider", data={"csrf_token": csrf_token_from(page.text)}
    )

    assert connected.status_code == 302
    connection = _connection(tenant_a)
    assert (connection.auth_method, connection.username, connection.password_encrypted) == (
        "provider",
        SALES,
        "",
    )
    assert connection.calendar_url.rstrip("/").endswith("/work")
    with tenant_session(tenant_a.ref) as session:
        assert sync_calendar(session, str(connection.id)) == {"changes": 1, "recorded": 1}
        assert [m.title for m in session.scalars(select(Meeting))] == ["Demo with Olga"]


def test_a_revoked_grant_stops_the_provider_calendar_as_a_refusing_server(
    client, tenant_a, with_caldav, bearer_radicale, app_ctx
):
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    _calendar_with_event(bearer_radicale.url, _token_of(tenant_a))
    page = client.get(f"/t/{tenant_a.slug}/calendar")
    client.post(
        f"/t/{tenant_a.slug}/calendar/connection/provider", data={"csrf_token": csrf_token_from(page.text)}
    )
    with_caldav.revoke_everything()

    def calendar_sync() -> dict:
        with tenant_session(tenant_a.ref) as session:
            return sync_calendar(session, str(session.scalar(select(CalendarConnection.id))))

    # The CalDAV server refuses the token: a failed sync, recorded, as with any refusing server.
    assert calendar_sync() == {"failed": "AuthorizationError"}
    # The mailbox's next sync learns the grant is gone; from then on the calendar does not even ask.
    with tenant_session(tenant_a.ref) as session:
        assert sync_mailbox(session, str(session.scalar(select(Mailbox.id)))) == {
            "stopped": "needs reconnecting"
        }
    refreshes = with_caldav.refreshes
    assert calendar_sync() == {"failed": "AuthorizationError"}
    assert with_caldav.refreshes == refreshes
    connection = _connection(tenant_a)
    assert connection.last_error and connection.auth_method == "provider"


def test_a_member_without_a_provider_mailbox_gets_no_provider_calendar(
    client, tenant_a, tenant_b, with_caldav, app_ctx
):
    login(client, tenant_a.email, tenant_a.password)
    connect_through_provider(client, tenant_a)
    client.get("/logout")
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/calendar")
    refused = client.post(
        f"/t/{tenant_b.slug}/calendar/connection/provider", data={"csrf_token": csrf_token_from(page.text)}
    )

    assert "data-provider-calendar" not in page.text
    assert refused.status_code == 422 and "provider that offers a calendar" in refused.text
    assert _connection(tenant_b) is None
