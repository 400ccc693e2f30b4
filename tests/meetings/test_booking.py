"""Booking links against a real Radicale: free slots leave out busy times (with the buffer) and read in
the visitor's zone, a booking lands in the calendar, on the contact's timeline and in two inboxes, two
visitors racing for one slot get it once, and nothing tells which links exist."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core.models import Activity, Contact
from saas.modules.meetings.models import Booking, Meeting
from saas.modules.switches import set_module_enabled
from tests.conftest import csrf_token_from
from tests.meetings.conftest import connect, make_contact, open_booking_link, run_jobs
from tests.meetings.test_sync import event_ics


def offered(client: FlaskClient, path: str) -> list[datetime]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return [datetime.fromisoformat(s) for s in re.findall(r'data-slot="([^"]+)"', page.text)]


def book(client: FlaskClient, slug: str, start: datetime, email: str, name: str = "Vera Visitor", **extra):
    form = client.get(f"/b/{slug}/ann/book", query_string={"start": start.isoformat(), "tz": "Europe/Berlin"})
    assert form.status_code == 200
    return client.post(
        f"/b/{slug}/ann/book",
        data={
            "csrf_token": csrf_token_from(form.text),
            "start": start.isoformat(),
            "time_zone": "Europe/Berlin",
            "name": name,
            "email": email,
            "note": "About the offer",
        }
        | extra,
    )


def test_free_slots_leave_out_busy_times_with_their_buffer(client, tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    open_booking_link(tenant_a, buffer_minutes=30)
    busy = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    radicale.put("alice", calendar_url, event_ics("busy@tests", busy, "someone@example.com"))
    slots = offered(client, f"/b/{tenant_a.slug}/ann?tz=UTC")
    # Busy 12:00-13:00, kept free from 11:30 to 13:30: the slots starting 11:30 to 13:00 are gone.
    taken = [busy + timedelta(minutes=m) for m in (-30, 0, 30, 60)]
    assert not set(taken) & set(slots)
    assert busy - timedelta(minutes=60) in slots and busy + timedelta(minutes=90) in slots
    assert all(s >= datetime.now(UTC) + timedelta(minutes=59) for s in slots)  # the notice period


def test_the_page_reads_in_the_visitors_zone_and_language(client, tenant_a):
    open_booking_link(
        tenant_a, time_zone="Europe/Berlin", start_minute=9 * 60, end_minute=10 * 60, slot_minutes=60
    )
    page = client.get(f"/b/{tenant_a.slug}/ann?tz=Asia/Tehran", headers={"Accept-Language": "de-DE"})
    assert page.status_code == 200 and 'lang="de"' in page.text
    [first, *_] = re.findall(r'data-slot="([^"]+)"', page.text)
    local = datetime.fromisoformat(first).astimezone(ZoneInfo("Asia/Tehran"))
    assert f">{local:%H:%M}<" in page.text  # 09:00 in Berlin is 11:30 or 12:30 in Tehran
    # No ?tz: the browser language's country gives the first guess, and the page's script may refine it.
    guessed = client.get(f"/b/{tenant_a.slug}/ann", headers={"Accept-Language": "fa-IR"})
    assert 'data-tz="Asia/Tehran"' in guessed.text and 'data-tz-chosen="0"' in guessed.text
    assert 'dir="rtl"' in guessed.text and "booking.js" in guessed.text
    # A country of many clocks is no guess: the link's own zone, until the browser's script tells.
    many = client.get(f"/b/{tenant_a.slug}/ann", headers={"Accept-Language": "en-US"})
    assert 'data-tz="Europe/Berlin"' in many.text


def test_a_booking_creates_the_event_the_contact_the_timeline_entry_and_confirmations(
    client, tenant_a, radicale, mail_sink
):
    calendar_url = connect(tenant_a, radicale)
    open_booking_link(tenant_a)
    run_jobs()
    start = offered(client, f"/b/{tenant_a.slug}/ann")[3]
    answer = book(client, tenant_a.slug, start, "vera@example.com")
    assert answer.status_code == 201, answer.text
    assert "vera@example.com" in answer.text

    [stored] = radicale.events("alice", calendar_url)
    event = Calendar.from_ical(stored).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start and "vera@example.com" in str(event["attendee"]).lower()
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.email == "vera@example.com"))
        assert (contact.first_name, contact.last_name) == ("Vera", "Visitor")
        [entry] = session.scalars(select(Activity).where(Activity.contact_id == contact.id)).all()
        assert entry.kind == "meeting" and entry.occurred_at == start
        meeting = session.scalar(select(Meeting))
        assert meeting.source == "booking" and meeting.uid == str(event["uid"])

    run_jobs()
    [to_visitor] = mail_sink.to("vera@example.com")
    [to_user] = mail_sink.to(tenant_a.email)
    for message in (to_visitor, to_user):
        [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert str(Calendar.from_ical(part.get_content())["method"]) == "REQUEST"
    assert "(Europe/Berlin)" in to_visitor.get_body(("plain",)).get_content()

    # The slot is gone from the page; a second visitor with a known email is matched, not duplicated.
    assert start not in offered(client, f"/b/{tenant_a.slug}/ann")
    make_contact(tenant_a, "known@example.com", "Known")
    later = offered(client, f"/b/{tenant_a.slug}/ann")[5]
    assert book(client, tenant_a.slug, later, "KNOWN@example.com").status_code == 201
    with tenant_session(tenant_a.ref) as session:
        found = session.scalar(select(func.count()).where(func.lower(Contact.email) == "known@example.com"))
        assert found == 1


def test_two_visitors_racing_for_one_slot_get_it_once(app, tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    open_booking_link(tenant_a)
    start = offered(app.test_client(), f"/b/{tenant_a.slug}/ann")[2]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def race(email: str) -> None:
        # Each visitor in a thread of its own: its own client, cookies and request contexts.
        client = app.test_client()
        form = client.get(f"/b/{tenant_a.slug}/ann/book", query_string={"start": start.isoformat()})
        data = {
            "csrf_token": csrf_token_from(form.text),
            "start": start.isoformat(),
            "time_zone": "UTC",
            "name": email.split("@")[0],
            "email": email,
        }
        barrier.wait()
        answers.append(client.post(f"/b/{tenant_a.slug}/ann/book", data=data).status_code)

    threads = [threading.Thread(target=race, args=(e,)) for e in ("one@example.com", "two@example.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [201, 409]
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 1
    assert len(radicale.events("alice", calendar_url)) == 1


def test_a_slot_taken_in_the_calendar_meanwhile_is_refused(client, tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    open_booking_link(tenant_a)
    start = offered(client, f"/b/{tenant_a.slug}/ann")[1]
    radicale.put("alice", calendar_url, event_ics("meanwhile@tests", start, "x@example.com", minutes=30))
    answer = book(client, tenant_a.slug, start, "late@example.com")
    assert answer.status_code == 409 and "no longer free" in answer.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_the_form_needs_its_csrf_token_and_says_what_is_wrong(client, tenant_a):
    open_booking_link(tenant_a)
    start = offered(client, f"/b/{tenant_a.slug}/ann")[0]
    forged = client.post(
        f"/b/{tenant_a.slug}/ann/book",
        data={"start": start.isoformat(), "time_zone": "UTC", "name": "X", "email": "x@example.com"},
    )
    assert forged.status_code == 400
    bad = book(client, tenant_a.slug, start, "not-an-email")
    assert bad.status_code == 422 and "Enter a valid email address." in bad.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_bookings_are_limited_per_visitor_email(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_EMAIL_RATE_LIMIT", "1 per hour")
    open_booking_link(tenant_a)
    first, second = offered(client, f"/b/{tenant_a.slug}/ann")[:2]
    assert book(client, tenant_a.slug, first, "flood@example.com").status_code == 201
    assert book(client, tenant_a.slug, second, "flood@example.com").status_code == 429


def test_unknown_switched_off_and_foreign_links_answer_the_same_404(client, tenant_a, tenant_b):
    open_booking_link(tenant_a)
    open_booking_link(tenant_b, handle="bea")
    assert client.get(f"/b/{tenant_a.slug}/ann").status_code == 200
    answers = [
        client.get(f"/b/{tenant_a.slug}/nobody"),
        client.get("/b/no-such-workspace/ann"),
        client.get(f"/b/{tenant_b.slug}/ann"),  # tenant A's handle under tenant B's slug
        client.get(f"/b/{tenant_a.slug}/bea"),  # and the other way round
        client.get(f"/b/{tenant_a.slug}/{tenant_a.email}"),
    ]
    open_booking_link(tenant_a, enabled=False)
    answers.append(client.get(f"/b/{tenant_a.slug}/ann"))
    open_booking_link(tenant_a)
    set_module_enabled(db.session, tenant_a.tenant.id, "meetings", False, actor=tenant_a.email)
    db.session.commit()
    answers.append(client.get(f"/b/{tenant_a.slug}/ann"))
    assert {a.status_code for a in answers} == {404}
    assert len({a.data for a in answers}) == 1
