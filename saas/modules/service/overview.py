"""The service module's part of the global search (tickets, articles) and of the tenant dashboard
(SLA health over the last two weeks)."""

from __future__ import annotations

from sqlalchemy.orm import Session

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
        return f"{value:.0f}%" if value is not None else "no figures yet"

    return [
        DashboardCard(
            key="service.sla",
            title="Tickets and SLA (14 days)",
            labels=tuple(day.day.strftime("%m-%d") for day in days),
            series=(
                Series("Created", tuple(float(day.created) for day in days)),
                Series("Solved", tuple(float(day.solved) for day in days)),
                Series("Solved late", tuple(float(day.breached) for day in days)),
            ),
            unit="tickets",
            summary=(
                f"First responses on time: {pct(first['percent'])}; "
                f"resolved on time: {pct(resolution['percent'])}; "
                f"{figures['breaching_soon']} breaching within 4 hours."
            ),
            link=NavEntry("See the service dashboard", "service.dashboard"),
            empty="No tickets yet: they show here by day with their SLA figures.",
            order=30,
        )
    ]
