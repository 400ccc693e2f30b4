"""A ticket's SLA clock on fixed times: due times from the tenant's policy and calendar, paused while
pending on the customer, resumed with the minutes already used, recomputed on priority and calendar
changes; breaches marked once by the job. 16 November 2026 is a Monday."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.service import sla
from saas.modules.service.models import Ticket, TicketEvent
from saas.modules.service.tickets import tickets


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _ticket(session, priority: str = "normal") -> Ticket:
    """A ticket handled by the clock functions directly, at chosen times (never flushed)."""
    return Ticket(
        subject="x", priority=priority, status="new", sla_elapsed_minutes=0, first_responded_at=None
    )


def test_due_times_follow_the_policy_in_business_hours(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        ticket = _ticket(session)  # normal: 480 first response, 1920 resolution (business minutes)
        sla.start_clock(session, ticket, utc(2026, 11, 16, 9))
        assert ticket.first_response_due_at == utc(2026, 11, 16, 17)
        assert ticket.resolution_due_at == utc(2026, 11, 19, 17)
        session.expunge_all()


def test_pending_customer_pauses_the_clock_and_reopening_resumes_it(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        ticket = _ticket(session)
        sla.start_clock(session, ticket, utc(2026, 11, 16, 9))
        ticket.status = "pending_customer"
        sla.on_status_change(session, ticket, "open", utc(2026, 11, 17, 11))  # Mon 480 + Tue 120 used
        assert ticket.sla_elapsed_minutes == 600
        assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)
        assert sla.sla_state(ticket, utc(2026, 11, 30)) == "paused"
        ticket.status = "open"
        sla.on_status_change(session, ticket, "pending_customer", utc(2026, 11, 19, 15))
        # 1320 minutes left from Thursday 15:00: Thu 120, Fri 480, Mon 480, Tue 240 -> Tuesday 13:00.
        assert ticket.resolution_due_at == utc(2026, 11, 24, 13)
        session.expunge_all()


def test_a_holiday_and_a_priority_change_recompute_the_due_time(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        sla.add_holiday(session, date(2026, 11, 23), "Founders' day")
        ticket = _ticket(session, priority="urgent")  # 60 / 240
        sla.start_clock(session, ticket, utc(2026, 11, 20, 15))
        assert ticket.resolution_due_at == utc(2026, 11, 24, 11)  # Fri 120, Mon off, Tue 120
        ticket.priority = "low"  # 960 / 4800
        sla.recompute_due(session, ticket)
        # 960 minutes from Friday 15:00: Fri 120, Mon off, Tue 480, Wed 360 -> Wednesday 15:00.
        assert ticket.first_response_due_at == utc(2026, 11, 25, 15)
        session.expunge_all()


def test_breach_job_flags_each_late_target_once_and_mails_the_assignee(tenant_a, mail_sink):
    from saas.auth.models import User
    from saas.db import db

    owner = db.session.scalar(select(User).where(User.email == tenant_a.email))
    with tenant_session(tenant_a.ref) as session:
        late = tickets.create(session, {"subject": "Late one", "assignee_user_id": owner.id})
        on_time = tickets.create(session, {"subject": "Fine one"})
        late.first_response_due_at = utc(2026, 1, 1)
        late.resolution_due_at = utc(2026, 1, 2)
        late_id, on_time_id = late.id, on_time.id
    now = utc(2026, 6, 1)
    with tenant_session(tenant_a.ref) as session:
        assert sla.mark_breaches(session, now) == {"first_response": 1, "resolution": 1}
    with tenant_session(tenant_a.ref) as session:
        assert sla.mark_breaches(session, now) == {"first_response": 0, "resolution": 0}
        late, on_time = session.get(Ticket, late_id), session.get(Ticket, on_time_id)
        assert (late.first_response_breached, late.resolution_breached) == (True, True)
        assert (on_time.first_response_breached, on_time.resolution_breached) == (False, False)
        actions = session.scalars(
            select(TicketEvent.details).where(
                TicketEvent.ticket_id == late_id, TicketEvent.action == "sla.breached"
            )
        ).all()
        assert sorted(d["target"] for d in actions) == ["first_response", "resolution"]
    [notice] = [m for m in mail_sink.to(tenant_a.email) if m["Subject"].startswith("SLA breached")]
    assert "first response and resolution" in notice.get_content()


def test_periodic_breach_job_covers_every_enabled_tenant_only(tenant_a, tenant_b):
    from saas.db import db
    from saas.modules.switches import set_module_enabled

    for fixture in (tenant_a, tenant_b):
        with tenant_session(fixture.ref) as session:
            ticket = tickets.create(session, {"subject": "Late"})
            ticket.resolution_due_at = utc(2026, 1, 2)
    set_module_enabled(db.session, tenant_b.tenant.id, "service", False, actor="test")
    db.session.commit()
    sla.mark_all_breaches()
    flagged = {}
    for fixture in (tenant_a, tenant_b):
        with tenant_session(fixture.ref) as session:
            flagged[fixture.slug] = session.scalar(
                select(Ticket.resolution_breached).where(Ticket.subject == "Late")
            )
    assert flagged == {tenant_a.slug: True, tenant_b.slug: False}


def test_changing_a_policy_moves_the_due_times_of_its_open_tickets_only(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        normal = tickets.create(session, {"subject": "n", "priority": "normal"})
        low = tickets.create(session, {"subject": "l", "priority": "low"})
        before = {t.id: t.resolution_due_at for t in (normal, low)}
    with tenant_session(tenant_a.ref) as session:
        sla.set_policy(session, "normal", 60, 120)
    with tenant_session(tenant_a.ref) as session:
        moved = session.get(Ticket, normal.id).resolution_due_at
        assert moved < before[normal.id]
        assert session.get(Ticket, low.id).resolution_due_at == before[low.id]


def test_calendar_changes_are_validated(tenant_a):
    import pytest

    from saas.errors import ValidationError

    with tenant_session(tenant_a.ref) as session:
        for data, field in (
            ({"timezone": "America"}, "timezone"),  # a folder of zones, not a zone
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"work_days": []}, "work_days"),
            ({"work_days": [0, 8]}, "work_days"),
            ({"start_minute": 600, "end_minute": 540}, "end_minute"),
        ):
            with pytest.raises(ValidationError) as caught:
                sla.update_calendar(session, data)
            assert field in caught.value.errors, data
        assert sla.update_calendar(
            session, {"timezone": "Europe/Berlin", "work_days": [1, 2, 3]}
        ).timezone == ("Europe/Berlin")
