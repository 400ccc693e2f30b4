"""The core module's card on the tenant dashboard: new contacts per week, with the record totals.

Cards are built per request for the dashboard page only, so their words are in the reader's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask_babel import format_date, gettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from saas.modules.core.models import Account, Contact
from saas.modules.registry import DashboardCard, NavEntry, Series

WEEKS = 8


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, oldest first, this week last."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def created_per_week(session: Session, created_at: InstrumentedAttribute, today: date) -> tuple[int, ...]:
    """How many rows were created in each of the last ``WEEKS`` weeks (UTC), oldest first."""
    weeks = week_starts(today)
    week = func.date_trunc("week", func.timezone("UTC", created_at))
    rows = session.execute(
        select(week, func.count())
        .where(created_at >= datetime.combine(weeks[0], datetime.min.time(), UTC))
        .group_by(week)
    )
    counts = {started.date(): count for started, count in rows}
    return tuple(counts.get(monday, 0) for monday in weeks)


def week_labels(today: date) -> tuple[str, ...]:
    """Each week by its Monday, as the reader writes a short date (``07 Dec``, ``07.12.``)."""
    return tuple(format_date(monday, "dd MMM") for monday in week_starts(today))


def dashboard(session: Session) -> list[DashboardCard]:
    """New contacts per week, then the reports the workspace pinned."""
    from saas.modules.core.saved_reports import pinned_cards

    today = datetime.now(UTC).date()
    contacts = session.scalar(select(func.count()).select_from(Contact)) or 0
    accounts = session.scalar(select(func.count()).select_from(Account)) or 0
    return [
        DashboardCard(
            key="core.new_contacts",
            title=gettext("New contacts per week"),
            labels=week_labels(today),
            series=(Series(gettext("New contacts"), created_per_week(session, Contact.created_at, today)),),
            summary=ngettext("%(num)s contact", "%(num)s contacts", contacts)
            + " · "
            + ngettext("%(num)s account", "%(num)s accounts", accounts),
            link=NavEntry(gettext("See the contacts"), "core.list_contacts"),
            empty=gettext("No contacts yet: add one or import a CSV file."),
            order=50,
        ),
        *pinned_cards(session),
    ]
