"""SLA policies, the tenant's business calendar, and each ticket's SLA clock.

A ticket's clock counts business minutes while the ticket waits on the team: it pauses while the
ticket is pending on the customer and stops when it is solved. Due times are recomputed from the
minutes already used whenever the status or priority changes. A periodic job marks breaches.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.lists import format_list
from flask_babel import get_locale, gettext
from sqlalchemy import and_, insert, or_, select, update

from saas.db import TenantRef, TenantSession, db, tenant_session
from saas.errors import ValidationError
from saas.i18n import N_, in_locale, translate
from saas.mail import send_mail
from saas.modules.service.business_hours import (
    BusinessCalendar,
    NoBusinessHours,
    add_business_minutes,
    business_minutes_between,
)
from saas.modules.service.models import (
    PRIORITIES,
    ServiceCalendar,
    ServiceHoliday,
    SlaPolicy,
    Ticket,
    TicketEvent,
)
from saas.tenants.language import recipient_locale

log = logging.getLogger(__name__)

# Business minutes (first response, resolution) of a new tenant's policies.
# How breach notices name the targets and priorities, in the assignee's language.
SLA_TARGET_NAMES = {"first_response": N_("first response"), "resolution": N_("resolution")}
PRIORITY_NAMES = {"urgent": N_("urgent"), "high": N_("high"), "normal": N_("normal"), "low": N_("low")}
DEFAULT_TARGETS = {"urgent": (60, 240), "high": (240, 960), "normal": (480, 1920), "low": (960, 4800)}
RUNNING = ("new", "open")
"""Statuses in which the clock runs: the team owes the customer an answer."""
BREACHING_SOON = timedelta(hours=4)


def seed_sla(session: TenantSession) -> None:
    session.add(ServiceCalendar(id=1))
    for priority, (first, resolution) in DEFAULT_TARGETS.items():
        session.add(SlaPolicy(priority=priority, first_response_minutes=first, resolution_minutes=resolution))


# --- calendar -------------------------------------------------------------------------------------


def calendar_row(session: TenantSession) -> ServiceCalendar:
    row = session.get(ServiceCalendar, 1)
    if row is None:  # a tenant whose row was removed by hand still gets the default hours
        row = ServiceCalendar(
            id=1, timezone="UTC", work_days=[1, 2, 3, 4, 5], start_minute=540, end_minute=1020
        )
        session.add(row)
        session.flush()
    return row


def business_calendar(session: TenantSession) -> BusinessCalendar:
    """The tenant's calendar, read once per session."""
    cached = session.info.get("service_calendar")
    if cached is None:
        row = calendar_row(session)
        holidays = frozenset(session.scalars(select(ServiceHoliday.day)))
        cached = session.info["service_calendar"] = BusinessCalendar(
            timezone=row.timezone,
            work_days=frozenset(row.work_days),
            start_minute=row.start_minute,
            end_minute=row.end_minute,
            holidays=holidays,
        )
    return cached


def update_calendar(session: TenantSession, data: dict[str, Any]) -> ServiceCalendar:
    """Change the business hours; open tickets' due times follow."""
    row = calendar_row(session)
    timezone = data.get("timezone", row.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        raise ValidationError(
            N_("Unknown time zone."), {"timezone": [N_("Use an IANA name such as Europe/Berlin.")]}
        ) from None
    work_days = sorted(set(data.get("work_days", row.work_days)))
    if not work_days or any(day not in range(1, 8) for day in work_days):
        raise ValidationError(
            N_("Choose the working days."), {"work_days": [N_("ISO weekdays 1 (Mon) to 7 (Sun).")]}
        )
    start, end = data.get("start_minute", row.start_minute), data.get("end_minute", row.end_minute)
    if not 0 <= start < end <= 1440:
        raise ValidationError(
            N_("The day must end after it starts."), {"end_minute": [N_("After the start.")]}
        )
    row.timezone, row.work_days, row.start_minute, row.end_minute = timezone, work_days, start, end
    _recompute_open_tickets(session)
    return row


def add_holiday(session: TenantSession, day: date, name: str) -> ServiceHoliday:
    holiday = session.get(ServiceHoliday, day)
    if holiday is None:
        holiday = ServiceHoliday(day=day, name=name)
        session.add(holiday)
    holiday.name = name
    _recompute_open_tickets(session)
    return holiday


def remove_holiday(session: TenantSession, day: date) -> None:
    holiday = session.get(ServiceHoliday, day)
    if holiday is not None:
        session.delete(holiday)
    _recompute_open_tickets(session)


def list_holidays(session: TenantSession) -> list[ServiceHoliday]:
    return list(session.scalars(select(ServiceHoliday).order_by(ServiceHoliday.day)))


# --- policies -------------------------------------------------------------------------------------


def list_policies(session: TenantSession) -> list[SlaPolicy]:
    policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
    return [policies[p] for p in PRIORITIES if p in policies]


def set_policy(session: TenantSession, priority: str, first_response: int, resolution: int) -> SlaPolicy:
    if priority not in PRIORITIES:
        raise ValidationError(
            N_("Unknown priority."), {"priority": [N_("One of %(choices)s.", choices=", ".join(PRIORITIES))]}
        )
    errors = {}
    for name, value in (("first_response_minutes", first_response), ("resolution_minutes", resolution)):
        if not isinstance(value, int) or not 0 < value <= 525_600:
            errors[name] = ["Whole business minutes, 1 to 525600."]
    if errors:
        raise ValidationError(N_("Targets are whole business minutes."), errors)
    policy = session.get(SlaPolicy, priority) or SlaPolicy(priority=priority)
    policy.first_response_minutes, policy.resolution_minutes = first_response, resolution
    session.add(policy)
    session.flush()
    _recompute_open_tickets(session, priority)
    return policy


# --- a ticket's clock -----------------------------------------------------------------------------


def _clear_cache(session: TenantSession) -> None:
    session.info.pop("service_calendar", None)


def _recompute_open_tickets(session: TenantSession, priority: str | None = None) -> None:
    """Due times of every running ticket (of one priority) after the calendar or a policy changed.

    Synchronous, in the admin's request: a few seconds for tens of thousands of open tickets.
    """
    session.flush()
    _clear_cache(session)
    query = select(Ticket).where(Ticket.status.in_(RUNNING))
    if priority is not None:
        query = query.where(Ticket.priority == priority)
    for ticket in session.scalars(query):
        recompute_due(session, ticket)


def recompute_due(session: TenantSession, ticket: Ticket) -> None:
    """Due times from the minutes used so far; none while the clock does not run."""
    policy = session.get(SlaPolicy, ticket.priority)
    if ticket.sla_running_since is None or policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    calendar = business_calendar(session)
    try:
        if ticket.first_responded_at is None:
            ticket.first_response_due_at = add_business_minutes(
                calendar, ticket.sla_running_since, policy.first_response_minutes - ticket.sla_elapsed_minutes
            )
        ticket.resolution_due_at = add_business_minutes(
            calendar, ticket.sla_running_since, policy.resolution_minutes - ticket.sla_elapsed_minutes
        )
    except NoBusinessHours:
        ticket.first_response_due_at = ticket.resolution_due_at = None


def start_clock(session: TenantSession, ticket: Ticket, at: datetime) -> None:
    ticket.sla_elapsed_minutes = 0
    ticket.sla_running_since = at
    recompute_due(session, ticket)


def on_status_change(session: TenantSession, ticket: Ticket, old: str, at: datetime) -> None:
    """Pause the clock when the ticket leaves the team's hands, resume it when it comes back."""
    was_running, runs = old in RUNNING, ticket.status in RUNNING
    if was_running and not runs and ticket.sla_running_since is not None:
        ticket.sla_elapsed_minutes += business_minutes_between(
            business_calendar(session), ticket.sla_running_since, at
        )
        ticket.sla_running_since = None
    elif runs and not was_running:
        ticket.sla_running_since = at
    recompute_due(session, ticket)


def sla_state(ticket: Ticket, now: datetime | None = None) -> str:
    """One word for lists: breached, at risk, on track, paused, met."""
    now = now or datetime.now(UTC)
    if ticket.first_response_breached or ticket.resolution_breached:
        return "breached"
    if ticket.status in ("solved", "closed"):
        return "met"
    if ticket.sla_running_since is None:
        return "paused"
    due = next_due(ticket)
    if due is not None and due - now <= BREACHING_SOON:
        return "at risk"
    return "on track"


def next_due(ticket: Ticket) -> datetime | None:
    dues = [ticket.resolution_due_at]
    if ticket.first_responded_at is None:
        dues.append(ticket.first_response_due_at)
    dues = [due for due in dues if due is not None]
    return min(dues) if dues else None


def breaching_soon_condition(now: datetime):
    """Running tickets not yet breached whose next due time falls within the warning window."""
    horizon = now + BREACHING_SOON
    return and_(
        Ticket.status.in_(RUNNING),
        or_(
            and_(
                Ticket.first_responded_at.is_(None),
                ~Ticket.first_response_breached,
                Ticket.first_response_due_at <= horizon,
            ),
            and_(~Ticket.resolution_breached, Ticket.resolution_due_at <= horizon),
        ),
    )


def late_for(ticket: Ticket, target: str, now: datetime) -> bool:
    """Whether ``target`` (first_response, resolution) is past due at ``now`` and not yet flagged."""
    if target == "first_response":
        due, flagged = ticket.first_response_due_at, ticket.first_response_breached
        if ticket.first_responded_at is not None and ticket.first_responded_at < now:
            return False
    else:
        due, flagged = ticket.resolution_due_at, ticket.resolution_breached
    return not flagged and due is not None and due < now


# --- breaches -------------------------------------------------------------------------------------


def mark_breaches(session: TenantSession, now: datetime | None = None) -> dict[str, int]:
    """Job body: flag every ticket past a due time once, record it, and tell its assignee by mail.

    Set-based (two UPDATEs and one batched INSERT), so a backlog of thousands costs one round of
    statements; ``WHERE NOT breached`` keeps two concurrent runs from flagging a ticket twice.
    """
    now = now or datetime.now(UTC)
    targets = {
        "first_response": (
            Ticket.first_response_breached,
            and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        ),
        "resolution": (Ticket.resolution_breached, Ticket.resolution_due_at < now),
    }
    flagged: dict[uuid.UUID, list[str]] = {}
    for kind, (flag, overdue) in targets.items():
        ids = session.scalars(
            update(Ticket)
            .where(Ticket.status.in_(RUNNING), ~flag, overdue)
            .values({flag: True})
            .returning(Ticket.id)
            .execution_options(synchronize_session=False)
        ).all()
        for ticket_id in ids:
            flagged.setdefault(ticket_id, []).append(kind)
    if flagged:
        session.execute(
            insert(TicketEvent),
            [
                {
                    "id": uuid.uuid4(),
                    "ticket_id": ticket_id,
                    "action": "sla.breached",
                    "details": {"target": kind},
                    "actor": "system",
                    "actor_user_id": None,
                    "created_at": now,
                }
                for ticket_id, kinds in flagged.items()
                for kind in kinds
            ],
        )
        _notify_breaches(session, flagged)
    announce_breaching_soon(session, now)
    session.expire_all()  # the ORM's copies of these tickets are stale now
    return {kind: sum(kind in kinds for kinds in flagged.values()) for kind in targets}


def announce_breaching_soon(session: TenantSession, now: datetime) -> int:
    """Tell the modules' listeners (``ticket.sla_at_risk``) of each assigned ticket whose next target falls
    due within the warning window; a listener tells each assignee once per target and due time, however
    often this job runs. Returns how many tickets it announced."""
    from saas.modules.registry import registry  # modules hear events through the registry

    rows = session.execute(
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.assignee_user_id,
            Ticket.first_responded_at,
            Ticket.first_response_breached,
            Ticket.first_response_due_at,
            Ticket.resolution_due_at,
        ).where(breaching_soon_condition(now), Ticket.assignee_user_id.is_not(None))
    ).all()
    for row in rows:
        first_due = row.first_response_due_at
        first = row.first_responded_at is None and not row.first_response_breached
        if first and first_due is not None and first_due <= now + BREACHING_SOON:
            target, due = "first_response", first_due
        else:
            target, due = "resolution", row.resolution_due_at
        payload = {
            "id": row.id,
            "subject": row.subject,
            "assignee_user_id": row.assignee_user_id,
            "target": target,
            "due_at": due.isoformat() if due else None,
        }
        registry.announce(session, "ticket.sla_at_risk", payload, {})
    return len(rows)


def _notify_breaches(session: TenantSession, flagged: dict[uuid.UUID, list[str]]) -> None:
    from saas.auth.models import User

    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.priority, Ticket.assignee_user_id).where(
            Ticket.id.in_(list(flagged)), Ticket.assignee_user_id.is_not(None)
        )
    ).all()
    assignees = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_({row.assignee_user_id for row in rows}))
        )
    }
    for row in rows:
        assignee = assignees.get(row.assignee_user_id)
        if assignee is None:
            continue
        reference = row.id.hex[:8].upper()
        with in_locale(recipient_locale(assignee.locale, session.tenant.id)):
            names = [translate(SLA_TARGET_NAMES.get(kind, kind)) for kind in flagged[row.id]]
            targets = format_list(names, locale=get_locale())  # "a and b", "a и b", "a和b"
            send_mail(
                assignee.email,
                gettext(
                    "SLA breached: %(subject)s [%(reference)s]", subject=row.subject, reference=reference
                ),
                gettext(
                    "Ticket %(reference)s (%(priority)s priority) has passed its target: %(targets)s.",
                    reference=reference,
                    priority=translate(PRIORITY_NAMES.get(row.priority, row.priority)),
                    targets=targets,
                )
                + "\n",
            )


def mark_all_breaches() -> dict[str, Any]:
    """Periodic job: run :func:`mark_breaches` for every writable tenant with the service module on."""
    from saas.jobs.fanout import for_each_tenant
    from saas.modules.service.email import send_pending_replies

    def mark(ref: TenantRef) -> dict[str, int]:
        with tenant_session(ref) as session:
            counts = mark_breaches(session)
            # Replies whose mail job was lost (or ran before their commit) go out here.
            send_pending_replies(session)
        return counts

    report = for_each_tenant("mark_all_breaches", mark, module="service")
    return {
        **report.as_dict(),
        "first_response": sum(counts["first_response"] for counts in report.results.values()),
        "resolution": sum(counts["resolution"] for counts in report.results.values()),
    }
