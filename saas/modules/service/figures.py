"""Service figures for the dashboard: tickets by status, SLA attainment, breaches by day, CSAT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, cast, func, select
from sqlalchemy.types import Date

from saas.db import TenantSession
from saas.modules.service.models import PRIORITIES, STATUSES, Ticket
from saas.modules.service.sla import breaching_soon_condition

DAYS = 14


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class DayFigures:
    day: date
    created: int
    solved: int
    breached: int


def service_figures(
    session: TenantSession, *, now: datetime | None = None, days: int = DAYS
) -> dict[str, Any]:
    """Everything the service dashboard shows, from a handful of aggregate queries."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days - 1)).date()
    start = datetime.combine(since, datetime.min.time(), UTC)
    by_status = dict(session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    open_by_priority = dict(
        session.execute(
            select(Ticket.priority, func.count())
            .where(Ticket.status.in_(("new", "open", "pending_customer")))
            .group_by(Ticket.priority)
        ).all()
    )
    responded = session.execute(
        select(func.count(), func.count().filter(~Ticket.first_response_breached)).where(
            Ticket.first_responded_at >= start
        )
    ).one()
    resolved = session.execute(
        select(func.count(), func.count().filter(~Ticket.resolution_breached)).where(
            Ticket.solved_at >= start
        )
    ).one()
    csat = session.execute(
        select(
            func.count(Ticket.csat_rating),
            func.avg(Ticket.csat_rating),
            func.count().filter(Ticket.csat_rating >= 4),
        ).where(Ticket.csat_at >= start)
    ).one()
    breaching = session.scalar(select(func.count()).where(breaching_soon_condition(now)))
    overdue = session.scalar(
        select(func.count()).where(
            Ticket.status.in_(("new", "open")), (Ticket.first_response_breached | Ticket.resolution_breached)
        )
    )
    per_day = _per_day(session, since, start)
    return {
        "since": since,
        "days": [
            per_day.get(since + timedelta(days=i), DayFigures(since + timedelta(days=i), 0, 0, 0))
            for i in range(days)
        ],
        "by_status": {status: by_status.get(status, 0) for status in STATUSES},
        "open_by_priority": {priority: open_by_priority.get(priority, 0) for priority in PRIORITIES},
        "first_response": {
            "total": responded[0],
            "met": responded[1],
            "percent": _percent(responded[1], responded[0]),
        },
        "resolution": {
            "total": resolved[0],
            "met": resolved[1],
            "percent": _percent(resolved[1], resolved[0]),
        },
        "csat": {
            "ratings": csat[0],
            "average": round(float(csat[1]), 2) if csat[1] is not None else None,
            "satisfied_percent": _percent(csat[2], csat[0]),
        },
        "breaching_soon": breaching,
        "breached_open": overdue,
    }


def _per_day(session: TenantSession, since: date, start: datetime) -> dict[date, DayFigures]:
    created_day = cast(Ticket.created_at, Date)
    solved_day = cast(Ticket.solved_at, Date)
    created = dict(
        session.execute(
            select(created_day, func.count()).where(Ticket.created_at >= start).group_by(created_day)
        ).all()
    )
    solved = session.execute(
        select(
            solved_day,
            func.count(),
            func.sum(case((and_(Ticket.resolution_breached), 1), else_=0)),
        )
        .where(Ticket.solved_at >= start)
        .group_by(solved_day)
    ).all()
    days = {day: DayFigures(day, count, 0, 0) for day, count in created.items()}
    for day, count, breached in solved:
        before = days.get(day, DayFigures(day, 0, 0, 0))
        days[day] = DayFigures(day, before.created, count, int(breached or 0))
    return days
