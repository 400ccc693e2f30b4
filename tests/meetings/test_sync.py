"""A user's CalDAV calendar (a real Radicale) and the CRM in step: connecting, CRM meetings written to
the calendar with an invitation that parses as iTIP, and calendar events with contacts pulled onto
timelines once, however often the sync runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.modules.core.models import Activity
from saas.modules.meetings import connections, sync
from saas.modules.meetings.models import CalendarConnection, Meeting, MeetingContact
from saas.modules.switches import set_module_enabled
from tests.conftest import csrf_token_from, other_workspaces_set_aside
from tests.meetings.conftest import connect, make_contact, run_jobs, user_id_of
from tests.meetings.radicale import USERS


def event_ics(uid: str, start: datetime, attendee: str, title: str = "Catch-up", minutes: int = 60) -> str:
    stamp = "20260101T000000Z"
    fmt = "%Y%m%dT%H%M%SZ"
    end = start + timedelta(minutes=minutes)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{stamp}\r\nDTSTART:{start.strftime(fmt)}\r\nDTEND:{end.strftime(fmt)}\r\n"
        f"SUMMARY:{title}\r\nATTENDEE;CN=Guest:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def timeline(fixture, contact_id: uuid.UUID) -> list[Activity]:
    with tenant_session(fixture.ref) as session:
        mine = select(Activity).where(Activity.contact_id == contact_id, Activity.kind == "meeting")
        return list(session.scalars(mine))


def test_connecting_checks_the_credentials_and_stores_the_password_encrypted(tenant_a, radicale):
    calendar_url = radicale.new_calendar("alice")
    user_id = user_id_of(tenant_a)
    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError) as refused:
        connections.connect_calendar(session, user_id, calendar_url, "alice", "wrong")
    assert "password" in refused.value.errors
    connect(tenant_a, radicale)
    with tenant_session(tenant_a.ref) as session:
        row = session.scalar(select(CalendarConnection))
        assert row.username == "alice" and USERS["alice"] not in row.password_encrypted
        assert connections.credentials(row).password == USERS["alice"]


def test_a_private_address_is_refused_without_the_loopback_switch(app, tenant_a, radicale, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_ALLOW_LOOPBACK", False)
    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError) as refused:
        connections.connect_calendar(session, user_id_of(tenant_a), radicale.url, "alice", USERS["alice"])
    assert "url" in refused.value.errors


def test_the_settings_page_connects_a_calendar_and_rerenders_with_a_message_on_bad_input(
    owner_client, tenant_a, radicale
):
    page = owner_client.get(f"/t/{tenant_a.slug}/calendar")
    token = csrf_token_from(page.text)
    calendar_url = radicale.new_calendar("alice")
    bad = owner_client.post(
        f"/t/{tenant_a.slug}/calendar/connection",
        data={"csrf_token": token, "url": calendar_url, "username": "alice", "password": "nope"},
    )
    assert bad.status_code == 422 and "refused this user name and password" in bad.text
    good = owner_client.post(
        f"/t/{tenant_a.slug}/calendar/connection",
        data={"csrf_token": token, "url": calendar_url, "username": "alice", "password": USERS["alice"]},
    )
    assert good.status_code == 302
    assert calendar_url in owner_client.get(f"/t/{tenant_a.slug}/calendar").text


def test_a_meeting_scheduled_in_the_crm_goes_to_the_calendar_with_an_itip_invitation(
    owner_client, tenant_a, radicale, mail_sink
):
    calendar_url = connect(tenant_a, radicale)
    contact_id = make_contact(tenant_a, "guest@example.com")
    page = owner_client.get(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    assert 'data-panel="meetings"' in page.text
    answer = owner_client.post(
        f"/t/{tenant_a.slug}/contacts/{contact_id}/meetings",
        data={
            "csrf_token": csrf_token_from(page.text),
            "title": "Pricing review",
            "starts_at": "2031-05-06T10:00",
            "minutes": "45",
            "invite": "1",
        },
    )
    assert answer.status_code == 302
    [entry] = timeline(tenant_a, contact_id)
    assert entry.subject == "Pricing review"
    run_jobs()

    [stored] = radicale.events("alice", calendar_url)
    with tenant_session(tenant_a.ref) as session:
        meeting = session.scalar(select(Meeting))
        assert meeting.event_href and meeting.pushed_at is not None
    event = Calendar.from_ical(stored).walk("VEVENT")[0]
    assert str(event["uid"]) == meeting.uid and str(event["summary"]) == "Pricing review"
    assert "METHOD" not in Calendar.from_ical(stored)  # CalDAV stores events without an iTIP method

    [invitation] = mail_sink.to("guest@example.com")
    [part] = [p for p in invitation.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(part.get_content())
    assert str(calendar["method"]) == "REQUEST" and calendar["prodid"] and str(calendar["version"]) == "2.0"
    invite = calendar.walk("VEVENT")[0]
    assert str(invite["uid"]) == meeting.uid and invite.get("dtstamp") is not None
    assert str(invite["organizer"]).lower() == f"mailto:{tenant_a.email}"
    attendee = invite["attendee"]
    assert str(attendee).lower() == "mailto:guest@example.com" and attendee.params["RSVP"] == "TRUE"
    start = invite.decoded("dtstart")
    assert start.tzinfo is not None and start == datetime(2031, 5, 6, 10, tzinfo=UTC)  # the owner reads UTC
    assert invite.decoded("dtend") - start == timedelta(minutes=45)
    assert any(p.get_filename() == "invite.ics" for p in invitation.walk())


def test_calendar_events_with_contacts_land_on_timelines_once_and_follow_changes(tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    contact_id = make_contact(tenant_a, "ann@example.com")
    start = datetime(2031, 3, 3, 15, tzinfo=UTC)
    radicale.put("alice", calendar_url, event_ics("ev-1@tests", start, "Ann@Example.com"))
    radicale.put("alice", calendar_url, event_ics("private@tests", start, "stranger@example.com", "Dentist"))
    run_jobs()  # the first sync, queued by connecting

    [entry] = timeline(tenant_a, contact_id)
    assert entry.subject == "Catch-up" and entry.occurred_at == start
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Meeting)) == 1  # the dentist stays private
        connection_id = str(session.scalar(select(CalendarConnection.id)))

    # Again, with nothing new: nothing changes (the sync token says so); then the event moves.
    with tenant_session(tenant_a.ref) as session:
        assert sync.sync_calendar(session, connection_id) == {"changes": 0, "recorded": 0}
    moved = start + timedelta(days=1)
    radicale.put("alice", calendar_url, event_ics("ev-1@tests", moved, "ann@example.com", "Catch-up, moved"))
    with tenant_session(tenant_a.ref) as session:
        assert sync.sync_calendar(session, connection_id)["recorded"] == 1
    [entry] = timeline(tenant_a, contact_id)
    assert entry.subject == "Catch-up, moved" and entry.occurred_at == moved
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(MeetingContact)) == 1

    # Starting over from no token reads everything again, and still records each meeting once.
    with tenant_session(tenant_a.ref) as session:
        session.scalar(select(CalendarConnection)).sync_token = None
    with tenant_session(tenant_a.ref) as session:
        sync.sync_calendar(session, connection_id)
    assert len(timeline(tenant_a, contact_id)) == 1


def test_the_periodic_job_queues_one_sync_per_connected_calendar_of_tenants_with_the_module_on(
    tenant_a, tenant_b, radicale
):
    connect(tenant_a, radicale)
    connect(tenant_b, radicale, "bob")
    run_jobs()
    set_module_enabled(db.session, tenant_b.tenant.id, "meetings", False, actor=tenant_b.email)
    db.session.commit()
    with other_workspaces_set_aside(tenant_a, tenant_b):
        report = sync.sync_all_calendars()
    assert report["skipped"][tenant_b.tenant.id] == "module_off"
    assert tenant_a.tenant.id not in report["skipped"] and report["queued"] >= 1
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(CalendarConnection)).last_synced_at is not None


def test_disconnecting_forgets_the_credentials_and_keeps_the_timeline(owner_client, tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    contact_id = make_contact(tenant_a, "ann@example.com")
    start = datetime(2031, 4, 1, 9, tzinfo=UTC)
    radicale.put("alice", calendar_url, event_ics("kept@tests", start, "ann@example.com"))
    run_jobs()
    page = owner_client.get(f"/t/{tenant_a.slug}/calendar")
    answer = owner_client.post(
        f"/t/{tenant_a.slug}/calendar/connection/delete", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert answer.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(CalendarConnection)) == 0
    assert len(timeline(tenant_a, contact_id)) == 1
