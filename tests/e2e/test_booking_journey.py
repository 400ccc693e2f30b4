"""Booking a meeting end to end: a salesperson connects their calendar (a real Radicale) and opens a
booking link on their calendar page; a visitor in another time zone opens the link, the page takes the
browser's zone, and books the first free slot; the event is in the Radicale calendar and the meeting on
the new contact's timeline."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from tests.e2e.conftest import Browsers, open_context, sign_in
from tests.meetings.conftest import radicale  # noqa: F401 - the Radicale fixture
from tests.meetings.radicale import USERS


@pytest.fixture(autouse=True)
def caldav_on_loopback(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_ALLOW_LOOPBACK", True)


def test_a_visitor_books_a_meeting_that_lands_in_the_calendar_and_on_the_timeline(
    browsers: Browsers,
    tenant_a,
    radicale,  # noqa: F811
):
    calendar_url = radicale.new_calendar("alice")
    owner = browsers.new_page()
    sign_in(owner, tenant_a.email)
    owner.goto(f"/t/{tenant_a.slug}/calendar")
    owner.get_by_label("CalDAV address").fill(calendar_url)
    owner.get_by_label("User name").fill("alice")
    owner.get_by_label("Password or app password").fill(USERS["alice"])
    owner.get_by_role("button", name="Connect").click()
    expect(owner.get_by_role("status").filter(has_text="Calendar connected")).to_be_visible()

    owner.get_by_label("People can book time with me").check()
    owner.get_by_label("Your name in the link").fill("ann")
    for day in owner.locator("input[name=work_days]").all():
        day.check()
    owner.get_by_label("Available from").fill("00:00")
    owner.get_by_label("until", exact=True).fill("00:00")  # until midnight: the whole day
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_role("status").filter(has_text="Booking link saved.")).to_be_visible()
    link = owner.locator("#booking-link").get_attribute("href")

    # The visitor's own browser, in Tokyo; its requests are checked like every journey's.
    visitor_context = open_context(
        browsers.browser, browsers.server, browsers.log, timezone_id="Asia/Tokyo", locale="en-GB"
    )
    browsers.contexts.append(visitor_context)
    visitor = visitor_context.new_page()
    browsers.pages.append(visitor)
    visitor.goto(link)
    expect(visitor).to_have_url(re.compile(r"tz=Asia%2FTokyo"))  # the page took the browser's zone
    expect(visitor.get_by_label("Times are shown in")).to_have_value("Asia/Tokyo")
    first = visitor.locator("[data-slot]").first
    slot = first.get_attribute("data-slot")
    first.click()
    visitor.get_by_label("Your name").fill("Vera Visitor")
    visitor.get_by_label("Your email").fill("vera@example.com")
    visitor.get_by_role("button", name="Book this time").click()
    expect(visitor.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(visitor.get_by_text("(Asia/Tokyo)")).to_be_visible()

    [stored] = radicale.events("alice", calendar_url)
    event = Calendar.from_ical(stored).walk("VEVENT")[0]
    assert event.decoded("dtstart").isoformat() == slot
    assert "vera@example.com" in str(event["attendee"]).lower()

    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == "vera@example.com"))
    owner.goto(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    panel = owner.locator("[data-panel=meetings]")
    expect(panel.get_by_text("Meeting: Vera Visitor")).to_be_visible()
