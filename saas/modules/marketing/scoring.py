"""What email engagement adds to a contact's rule points (``saas.modules.core.scoring``): each campaign
email opened, and each one clicked, in the last 90 days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.core.scoring import ScoreRule
from saas.modules.marketing.models import CampaignRecipient
from saas.modules.registry import ScoreSignal

ENGAGEMENT_DAYS = 90


def _engagement(now: datetime) -> Any:
    since = now - timedelta(days=ENGAGEMENT_DAYS)
    opened = func.count().filter(CampaignRecipient.opened_at >= since)
    clicked = func.count().filter(CampaignRecipient.clicked_at >= since)
    return select(opened + clicked).where(CampaignRecipient.contact_id == Contact.id).scalar_subquery()


EMAIL_ENGAGEMENT = ScoreSignal(
    ScoreRule("email_engagement", 5, cap=30),
    N_("Campaign emails opened or clicked in the last 90 days"),
    _engagement,
)
