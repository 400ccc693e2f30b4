"""Meetings and personal data: a person's meetings and bookings are in their download and go with their
erasure (through the privacy module's own collection and erasure); a meeting shared with another
contact stays, without them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.meetings.meetings import attend, schedule_meeting
from saas.modules.meetings.models import Booking, Meeting, MeetingContact
from saas.modules.privacy.subject import data_subject, erase_subject, personal_data_json
from tests.meetings.conftest import make_contact, user_id_of

START = datetime(2031, 1, 6, 9, tzinfo=UTC)


def _meet(fixture, title: str, *contact_ids) -> None:
    with tenant_session(fixture.ref) as session:
        meeting = schedule_meeting(
            session, user_id_of(fixture), {"contact_id": contact_ids[0], "title": title, "starts_at": START}
        )
        for other in contact_ids[1:]:
            attend(session, meeting, other)


def _book(fixture, contact_id, email: str) -> None:
    with tenant_session(fixture.ref) as session:
        start = START + timedelta(days=1)
        session.add(
            Booking(
                user_id=user_id_of(fixture), starts_at=start, ends_at=start + timedelta(hours=1),
                visitor_name="Kim", visitor_email=email, visitor_time_zone="UTC", note="my address",
                contact_id=contact_id,
            )
        )  # fmt: skip


def test_a_persons_download_holds_their_meetings_and_bookings_only(tenant_a):
    kim = make_contact(tenant_a, "kim@example.com", "Kim")
    lou = make_contact(tenant_a, "lou@example.com", "Lou")
    _meet(tenant_a, "Kim's review", kim)
    _meet(tenant_a, "Lou's review", lou)
    _book(tenant_a, kim, "kim@example.com")
    with tenant_session(tenant_a.ref) as session:
        document = json.loads(personal_data_json(session, kim, "Alpha"))
    data = document["data"]["meetings"]
    assert [m["title"] for m in data["meetings"]] == ["Kim's review"]
    assert [b["note"] for b in data["bookings"]] == ["my address"]
    assert "Lou" not in json.dumps(data)


def test_erasure_removes_their_meetings_and_bookings_and_keeps_shared_ones_without_them(tenant_a):
    kim = make_contact(tenant_a, "kim@example.com", "Kim")
    lou = make_contact(tenant_a, "lou@example.com", "Lou")
    _meet(tenant_a, "Only Kim", kim)
    _meet(tenant_a, "Kim and Lou", kim, lou)
    _book(tenant_a, kim, "KIM@example.com")
    with tenant_session(tenant_a.ref) as session:
        report = erase_subject(session, data_subject(session, kim))
    assert report["bookings"] == 1 and report["meetings"] == 1
    with tenant_session(tenant_a.ref) as session:
        assert [m.title for m in session.scalars(select(Meeting))] == ["Kim and Lou"]
        assert [a.contact_id for a in session.scalars(select(MeetingContact))] == [lou]
        assert session.scalars(select(Booking)).all() == []
