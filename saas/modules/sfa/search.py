"""The sales module's part of the global search: leads and deals, by word through the lists' search and
its GIN index (see saas.modules.core.services.search_condition)."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.registry import SearchHit
from saas.modules.sfa.statuses import deal_status_labels, lead_status_labels


def search(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Leads (by name, email, company), then deals (by name), matching ``query``."""
    # Both import sfa.module (its default stages), which imports this file.
    from saas.modules.sfa.deals import deals
    from saas.modules.sfa.leads import leads

    lead_statuses, deal_statuses = lead_status_labels(), deal_status_labels()
    hits = [
        SearchHit(
            "Lead",
            " ".join(part for part in (lead.first_name, lead.last_name) if part)
            or lead.email
            or gettext("(no name)"),
            "sfa.show_leads",
            {"record_id": str(lead.id)},
            " · ".join(part for part in (lead.company, lead.email, lead_statuses.get(lead.status)) if part),
            N_("Leads"),
        )
        for lead in leads.list(session, q=query, limit=limit).data
    ]
    hits += [
        SearchHit(
            "Deal",
            deal.name,
            "sfa.show_deals",
            {"record_id": str(deal.id)},
            f"{deal.currency} {deal.amount:,.2f} · {deal_statuses.get(deal.status, deal.status)}",
            N_("Deals"),
        )
        for deal in deals.list(session, q=query, limit=limit).data
    ]
    return hits
