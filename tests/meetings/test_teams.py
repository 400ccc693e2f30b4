"""Team booking links: admins make one link for several members; it offers any member's free slot and
gives each booking to a member free then, the least booked first; handles are one namespace with the
users'; members cannot manage team links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.auth.models import User
from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.meetings import booking, teams
from saas.modules.meetings.models import Booking
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.meetings.conftest import connect, open_booking_link, user_id_of
from tests.meetings.test_booking import offered
from tests.meetings.test_sync import event_ics


def _colleague(fixture) -> str:
    email = f"colleague-{fixture.slug}@example.com"
    add_member(db.session, fixture.tenant.id, email, PASSWORD, role="member", actor=fixture.email)
    db.session.commit()
    return email


def _colleague_link(fixture, email: str) -> None:
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    with tenant_session(fixture.ref) as session:
        booking.save_settings(
            session,
            user_id,
            {"handle": "bo", "enabled": True, "title": "Call", "time_zone": "UTC", "work_days": "1234567",
             "start_minute": 0, "end_minute": 1440, "slot_minutes": 30, "buffer_minutes": 0,
             "notice_minutes": 60, "horizon_days": 3},
        )  # fmt: skip


def _book(client, slug: str, start: datetime, email: str):
    form = client.get(f"/b/{slug}/sales/book", query_string={"start": start.isoformat()})
    return client.post(
        f"/b/{slug}/sales/book",
        data={"csrf_token": csrf_token_from(form.text), "start": start.isoformat(), "time_zone": "UTC",
              "name": "Vi Sitor", "email": email},
    )  # fmt: skip


def test_a_team_link_offers_any_members_free_slot_and_books_a_free_member(client, tenant_a, radicale):
    calendar_url = connect(tenant_a, radicale)
    open_booking_link(tenant_a)
    colleague = _colleague(tenant_a)
    _colleague_link(tenant_a, colleague)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/calendar/teams")
    owner_id = user_id_of(tenant_a)
    colleague_id = db.session.scalar(select(User.id).where(User.email == colleague))
    saved = client.post(
        f"/t/{tenant_a.slug}/calendar/teams",
        data={"csrf_token": csrf_token_from(page.text), "handle": "sales", "title": "Sales call",
              "members": [str(owner_id), str(colleague_id)]},
    )  # fmt: skip
    assert saved.status_code == 302

    busy = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    radicale.put("alice", calendar_url, event_ics("owner-busy@tests", busy, "x@example.com", minutes=30))
    slots = offered(client, f"/b/{tenant_a.slug}/sales")
    assert busy in slots  # the owner is busy then, the colleague is not
    assert busy not in offered(client, f"/b/{tenant_a.slug}/ann")
    assert _book(client, tenant_a.slug, busy, "one@example.com").status_code == 201
    later = busy + timedelta(hours=2)
    assert _book(client, tenant_a.slug, later, "two@example.com").status_code == 201  # both free then
    with tenant_session(tenant_a.ref) as session:
        booked = {b.visitor_email: b.user_id for b in session.scalars(select(Booking))}
    assert booked["one@example.com"] == colleague_id
    assert booked["two@example.com"] == owner_id  # the one with fewer bookings to come


def test_team_and_user_handles_share_one_namespace(client, tenant_a):
    open_booking_link(tenant_a, handle="ann")
    owner_id = user_id_of(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        teams.save_team(session, {"handle": "sales", "title": "Sales"}, [owner_id], [owner_id])
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/calendar/teams")
    taken = client.post(
        f"/t/{tenant_a.slug}/calendar/teams",
        data={
            "csrf_token": csrf_token_from(page.text),
            "handle": "ann",
            "title": "x",
            "members": [str(owner_id)],
        },
    )
    assert taken.status_code == 422 and "This name is taken in the workspace." in taken.text
    settings = client.get(f"/t/{tenant_a.slug}/calendar")
    clash = client.post(
        f"/t/{tenant_a.slug}/calendar/booking",
        data={"csrf_token": csrf_token_from(settings.text), "handle": "sales", "time_zone": "UTC",
              "work_days": "1", "start_time": "09:00", "end_time": "17:00", "slot_minutes": "30",
              "buffer_minutes": "0", "notice_minutes": "0", "horizon_days": "7"},
    )  # fmt: skip
    assert clash.status_code == 422 and "This name is taken in the workspace." in clash.text


def test_members_cannot_manage_team_links(client, tenant_a):
    owner_id = user_id_of(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        team = teams.save_team(session, {"handle": "sales", "title": "Sales"}, [owner_id], [owner_id])
    login(client, _colleague(tenant_a), PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/calendar/teams").status_code == 403
    page = client.get(f"/t/{tenant_a.slug}/calendar")
    refused = client.post(
        f"/t/{tenant_a.slug}/calendar/teams/{team.id}/delete", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert refused.status_code == 403
    with tenant_session(tenant_a.ref) as session:
        assert teams.list_teams(session)
