"""Meetings are isolated between tenants: tenant B's token, pages, booking links and jobs never read
or change tenant A's meetings, calendar connections or contacts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.jobs import enqueue_for_tenant
from saas.modules.meetings.meetings import schedule_meeting
from saas.modules.meetings.models import CalendarConnection, Meeting
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.meetings.conftest import connect, make_contact, run_jobs, user_id_of

START = datetime(2031, 2, 3, 10, tzinfo=UTC)


def _meeting_of_a(tenant_a):
    contact_id = make_contact(tenant_a, "secret@example.com", "Secret")
    with tenant_session(tenant_a.ref) as session:
        meeting = schedule_meeting(
            session, user_id_of(tenant_a), {"contact_id": contact_id, "title": "A only", "starts_at": START}
        )
        return meeting.id, contact_id


def test_tenant_b_cannot_read_or_schedule_on_tenant_a_meetings_through_the_api(client, tenant_a, tenant_b):
    meeting_id, contact_id = _meeting_of_a(tenant_a)
    token_b = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/meetings/{meeting_id}", headers=token_b).status_code == 404
    assert client.get("/api/v1/meetings", headers=token_b).get_json()["data"] == []
    listed = client.get(f"/api/v1/meetings?contact_id={contact_id}", headers=token_b)
    assert listed.status_code == 200 and listed.get_json()["data"] == []
    refused = client.post(
        "/api/v1/meetings",
        headers=token_b,
        json={"contact_id": str(contact_id), "title": "Sneaky", "starts_at": START.isoformat()},
    )
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Meeting)) == 1


def test_the_api_lists_and_schedules_meetings_of_its_own_workspace(client, tenant_a):
    meeting_id, contact_id = _meeting_of_a(tenant_a)
    token = bearer(make_token(tenant_a))
    [listed] = client.get(f"/api/v1/meetings?contact_id={contact_id}", headers=token).get_json()["data"]
    assert listed["id"] == str(meeting_id) and listed["contact_ids"] == [str(contact_id)]
    made = client.post(
        "/api/v1/meetings",
        headers=token,
        json={"contact_id": str(contact_id), "title": "Follow-up", "starts_at": "2031-02-04T09:00:00+01:00"},
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["starts_at"].startswith("2031-02-04T08:00:00")
    naive = client.post(
        "/api/v1/meetings",
        headers=token,
        json={"contact_id": str(contact_id), "title": "x", "starts_at": "2031-02-04T09:00"},
    )
    assert naive.status_code == 422 and naive.content_type == "application/problem+json"


def test_tenant_b_pages_cannot_schedule_on_tenant_a_contacts(client, tenant_a, tenant_b):
    _, contact_id = _meeting_of_a(tenant_a)
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/calendar")
    answer = client.post(
        f"/t/{tenant_b.slug}/contacts/{contact_id}/meetings",
        data={"csrf_token": csrf_token_from(page.text), "title": "x", "starts_at": "2031-02-03T10:00"},
    )
    assert answer.status_code == 404
    # Nor reach tenant A's pages by its slug.
    assert client.get(f"/t/{tenant_a.slug}/calendar").status_code == 404


def test_a_member_sees_only_their_own_calendar_connection(client, tenant_a, radicale):
    connect(tenant_a, radicale)
    colleague = f"colleague-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, colleague, PASSWORD, role="member", actor=tenant_a.email)
    db.session.commit()
    login(client, colleague, PASSWORD)
    page = client.get(f"/t/{tenant_a.slug}/calendar")
    assert page.status_code == 200 and "alice" not in page.text and radicale.url not in page.text


def test_a_sync_job_for_tenant_b_cannot_reach_tenant_a_connection(tenant_a, tenant_b, radicale):
    connect(tenant_a, radicale)
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        connection_id = str(session.scalar(select(CalendarConnection.id)))
    job = enqueue_for_tenant(tenant_b.tenant.id, "saas.modules.meetings.sync.sync_calendar", connection_id)
    run_jobs()
    job.refresh()
    assert job.return_value() == {"skipped": "disconnected"}
