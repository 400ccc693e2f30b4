"""The service module's part of the global search (tickets, articles) and of the tenant dashboard
(SLA health over the last two weeks)."""

from __future__ import annotations

from flask_babel import format_date, format_percent, gettext
from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.registry import DashboardCard, NavEntry, SearchHit, Series


def search(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Tickets (by subject and text), then knowledge base articles (full text), matching ``query``."""
    from saas.modules.service.kb import search_articles
    from saas.modules.service.tickets import tickets

    hits = [
        SearchHit(
            "Ticket",
            ticket.subject,
            "service.show_ticket",
            {"ticket_id": str(ticket.id)},
            f"#{ticket.reference} · {ticket.status.replace('_', ' ')} · {ticket.priority}",
            N_("Tickets"),
        )
        for ticket in tickets.list(session, q=query, limit=limit).data
    ]
    hits += [
        SearchHit(
            "Article",
            article.title,
            "service.edit_article",
            {"kb_article_id": str(article.id)},
            article.status,
            N_("Articles"),
        )
        for article in search_articles(session, query, published_only=False, limit=limit)
    ]
    return hits


def dashboard(session: Session) -> list[DashboardCard]:
    from saas.modules.service.figures import service_figures

    figures = service_figures(session)
    days = figures["days"]
    first, resolution = figures["first_response"], figures["resolution"]

    def pct(value: float | None) -> str:
        return format_percent(value / 100) if value is not None else gettext("no figures yet")

    return [
        DashboardCard(
            key="service.sla",
            title=gettext("Tickets and SLA (14 days)"),
            labels=tuple(format_date(day.day, "MM-dd") for day in days),
            series=(
                Series(gettext("Created"), tuple(float(day.created) for day in days)),
                Series(gettext("Solved"), tuple(float(day.solved) for day in days)),
                Series(gettext("Solved late"), tuple(float(day.breached) for day in days)),
            ),
            unit=gettext("tickets"),
            summary=gettext(
                "First responses on time: %(first)s; resolved on time: %(resolved)s; "
                "%(soon)d breaching within 4 hours.",
                first=pct(first["percent"]),
                resolved=pct(resolution["percent"]),
                soon=figures["breaching_soon"],
            ),
            link=NavEntry(gettext("See the service dashboard"), "service.dashboard"),
            empty=gettext("No tickets yet: they show here by day with their SLA figures."),
            order=30,
        )
    ]
