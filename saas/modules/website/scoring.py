"""What website visits add to a contact's rule points (``saas.modules.core.scoring``): each visit (a
session of a visitor joined to the contact) in the last 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select

from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.core.scoring import ScoreRule
from saas.modules.registry import ScoreSignal
from saas.modules.website.models import WebsitePageView, WebsiteVisitor

VISIT_DAYS = 30


def _visits(now: datetime) -> Any:
    return (
        select(func.count(distinct(WebsitePageView.session_id)))
        .join(WebsiteVisitor, WebsiteVisitor.id == WebsitePageView.visitor_id)
        .where(
            WebsiteVisitor.contact_id == Contact.id,
            WebsitePageView.occurred_at >= now - timedelta(days=VISIT_DAYS),
        )
        .scalar_subquery()
    )


WEBSITE_VISITS = ScoreSignal(
    ScoreRule("website_visits", 5, cap=20), N_("Website visits in the last 30 days"), _visits
)
