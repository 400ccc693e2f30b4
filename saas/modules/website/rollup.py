"""The schedule's work on page views: count finished days into ``website_daily_pages`` (anonymous
figures), then delete raw views older than the workspace's retention. Runs hourly; safe to run twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from saas.db import TenantRef, tenant_session
from saas.modules.website.models import WebsiteDailyPage, WebsitePageView
from saas.modules.website.site import get_settings
from saas.modules.website.visits import MAX_AGE

ROLL_UP_JOB = "saas.modules.website.rollup.roll_up_all"
# A day is counted once no batch can still report a view of it (a batch reports views up to MAX_AGE old).
SETTLED = timedelta(days=1) + MAX_AGE


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def roll_up(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Count every settled day not yet counted, then delete the raw views past retention."""
    now = now or datetime.now(UTC)
    settings = get_settings(session)
    last_settled = (now - SETTLED).date() - timedelta(days=1)
    first = (
        settings.rolled_up_through + timedelta(days=1)
        if settings.rolled_up_through
        else session.scalar(select(func.min(WebsitePageView.occurred_at)))
    )
    if isinstance(first, datetime):
        first = first.astimezone(UTC).date()
    days = 0
    if first is not None and first <= last_settled:
        day = func.date(func.timezone("UTC", WebsitePageView.occurred_at))
        counted = (
            select(
                day,
                WebsitePageView.path,
                func.count(),
                func.count(func.distinct(WebsitePageView.visitor_id)),
                func.count(func.distinct(WebsitePageView.session_id)),
            )
            .where(
                WebsitePageView.occurred_at >= _midnight(first),
                WebsitePageView.occurred_at < _midnight(last_settled + timedelta(days=1)),
            )
            .group_by(day, WebsitePageView.path)
        )
        statement = pg_insert(WebsiteDailyPage).from_select(
            ["day", "path", "views", "visitors", "sessions"], counted
        )
        # Recounting a day replaces its figures: a second run finds the same rows.
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[WebsiteDailyPage.day, WebsiteDailyPage.path],
                set_={name: statement.excluded[name] for name in ("views", "visitors", "sessions")},
            )
        )
        days = (last_settled - first).days + 1
    # Views arriving later are of later days (no batch reports a settled day), so these stay counted.
    settings.rolled_up_through = max(last_settled, settings.rolled_up_through or last_settled)
    deleted = session.execute(
        delete(WebsitePageView).where(
            WebsitePageView.occurred_at < now - timedelta(days=settings.retention_days)
        )
    ).rowcount
    return {"days": days, "deleted": deleted}


def roll_up_all() -> dict[str, Any]:
    """Periodic job: :func:`roll_up` for every tenant with the module on; read-only (lapsed) ones too,
    since deleting old views is a privacy duty."""
    from saas.jobs.fanout import for_each_tenant

    def work(ref: TenantRef) -> dict[str, int]:
        with tenant_session(ref) as session:
            return roll_up(session)

    report = for_each_tenant("roll_up_website_views", work, module="website", when_read_only=True)
    return {
        **report.as_dict(),
        "deleted": sum(result["deleted"] for result in report.results.values()),
    }


def top_pages(session: Session, since: date) -> list[tuple[str, int, int]]:
    """(path, views, visitors) of counted days since ``since``, most viewed first: the settings page's
    overview (visitors are summed per day, so a visitor of two days counts twice)."""
    rows = session.execute(
        select(
            WebsiteDailyPage.path,
            func.sum(WebsiteDailyPage.views),
            func.sum(WebsiteDailyPage.visitors),
        )
        .where(WebsiteDailyPage.day >= since)
        .group_by(WebsiteDailyPage.path)
        .order_by(func.sum(WebsiteDailyPage.views).desc(), WebsiteDailyPage.path)
        .limit(20)
    ).all()
    return [(path, int(views), int(visitors)) for path, views, visitors in rows]
