"""Attribution: which campaigns, forms and website sources touched the people of won deals first and
last before the win, and the revenue credited to each (one statement for all deals, never a loop).

A touch is a campaign open or click, a form submission, or a website session (its source: the origin of
the first page's referrer, or ``direct``; the website module keeps no query strings, so no UTM tags). A
won deal's touches are those of its contacts (``deal_contacts``) up to the moment it was won; the first
and the last of them each get the deal's whole amount, in the deal's currency. A deal without a touch is
credited to nothing. Website sessions last only as long as the raw page views (website retention).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from saas.modules.core.currencies import Converter, converter
from saas.modules.marketing.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    FormSubmission,
    MarketingForm,
)
from saas.modules.sfa.models import Deal, DealContact
from saas.modules.website.models import WebsitePageView, WebsiteVisitor

MODELS = ("first_touch", "last_touch")
CHANNELS = ("campaign", "form", "website")
DIRECT = "direct"


def _touches() -> Any:
    """Every touch as (contact_id, at, channel, source, label): one UNION ALL."""
    campaign = (
        select(
            CampaignRecipient.contact_id,
            CampaignEvent.occurred_at.label("at"),
            literal("campaign").label("channel"),
            cast(Campaign.id, String).label("source"),
            Campaign.name.label("label"),
        )
        .join(CampaignRecipient, CampaignRecipient.id == CampaignEvent.recipient_id)
        .join(Campaign, Campaign.id == CampaignEvent.campaign_id)
        .where(CampaignEvent.kind.in_(("open", "click")))
    )
    form = (
        select(
            FormSubmission.contact_id,
            FormSubmission.submitted_at,
            literal("form"),
            cast(MarketingForm.id, String),
            MarketingForm.name,
        )
        .join(MarketingForm, MarketingForm.id == FormSubmission.form_id)
        .where(FormSubmission.contact_id.is_not(None))
    )
    # A session's first page view, of identified visitors only.
    sessions = (
        select(
            WebsiteVisitor.contact_id,
            WebsitePageView.occurred_at,
            func.coalesce(WebsitePageView.referrer, DIRECT).label("origin"),
        )
        .join(WebsiteVisitor, WebsiteVisitor.id == WebsitePageView.visitor_id)
        .where(WebsiteVisitor.contact_id.is_not(None))
        .order_by(WebsitePageView.session_id, WebsitePageView.occurred_at, WebsitePageView.id)
        .distinct(WebsitePageView.session_id)
        .subquery()
    )
    website = select(
        sessions.c.contact_id,
        sessions.c.occurred_at,
        literal("website"),
        sessions.c.origin,
        sessions.c.origin,
    )
    return union_all(campaign, form, website).subquery("touches")


def credited_deals() -> Any:
    """One row per won deal and touch model that credits a touch: (model, deal_id, channel, source, label,
    campaign, won_month, revenue, currency). Each deal's touches are ranked by window functions; the
    report builder's "Attribution" source groups these rows, :func:`attribution` sums them per source."""
    touches = _touches()
    order = (touches.c.at, touches.c.channel, touches.c.source)
    ranked = (
        select(
            Deal.id.label("deal_id"),
            Deal.amount,
            Deal.currency,
            func.to_char(func.timezone("UTC", Deal.closed_at), "YYYY-MM").label("won_month"),
            touches.c.channel,
            touches.c.source,
            touches.c.label,
            func.row_number().over(partition_by=Deal.id, order_by=order).label("first_rank"),
            func.row_number()
            .over(partition_by=Deal.id, order_by=[column.desc() for column in order])
            .label("last_rank"),
        )
        .join(DealContact, DealContact.deal_id == Deal.id)
        .join(touches, touches.c.contact_id == DealContact.contact_id)
        .where(Deal.status == "won", Deal.closed_at.is_not(None), touches.c.at <= Deal.closed_at)
        .cte("ranked")
    )
    return union_all(
        *(
            select(
                literal(model).label("model"),
                ranked.c.deal_id,
                ranked.c.channel,
                ranked.c.source,
                ranked.c.label,
                case((ranked.c.channel == "campaign", ranked.c.label)).label("campaign"),
                ranked.c.won_month,
                ranked.c.amount.label("revenue"),
                ranked.c.currency,
            ).where(rank == 1)
            for model, rank in (("first_touch", ranked.c.first_rank), ("last_touch", ranked.c.last_rank))
        )
    )


def _credited(campaign_id: uuid.UUID | None = None) -> Any:
    """(model, channel, source, label, currency, revenue, deals) rows: :func:`credited_deals` summed per
    source and currency."""
    credited = credited_deals().subquery("credited")
    keys = (credited.c.model, credited.c.channel, credited.c.source, credited.c.label, credited.c.currency)
    query = select(*keys, func.sum(credited.c.revenue), func.count()).group_by(*keys)
    if campaign_id is not None:
        query = query.where(credited.c.channel == "campaign", credited.c.source == str(campaign_id))
    return query


@dataclass
class Credit:
    """Revenue credited to one source under one model."""

    channel: str
    source: str
    label: str
    deals: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    """Per currency, as the deals hold it."""
    in_base: Decimal = Decimal(0)
    """The amounts in the workspace's base currency (those with a rate)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "source": self.source,
            "label": self.label,
            "deals": self.deals,
            "amounts": {currency: str(amount) for currency, amount in sorted(self.amounts.items())},
            "in_base_currency": str(self.in_base),
        }


@dataclass
class Attribution:
    first_touch: list[Credit]
    last_touch: list[Credit]
    money: Converter

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_touch": [credit.as_dict() for credit in self.first_touch],
            "last_touch": [credit.as_dict() for credit in self.last_touch],
            "currency": self.money.report(),
            "explained": self.money.explain(),
        }


def _collect(rows: Iterable[Any], money: Converter) -> Attribution:
    credits: dict[str, dict[tuple[str, str], Credit]] = {model: {} for model in MODELS}
    for model, channel, source, label, currency, revenue, deals in rows:
        credit = credits[model].setdefault((channel, source), Credit(channel, source, label))
        credit.deals += deals
        credit.amounts[currency] = credit.amounts.get(currency, Decimal(0)) + revenue
    for by_source in credits.values():
        for credit in by_source.values():
            credit.in_base = money.total(credit.amounts)

    def ordered(model: str) -> list[Credit]:
        return sorted(credits[model].values(), key=lambda c: (-c.in_base, -c.deals, c.channel, c.label))

    return Attribution(ordered("first_touch"), ordered("last_touch"), money)


def attribution(session: Session) -> Attribution:
    """First- and last-touch revenue of every source, largest first."""
    return _collect(session.execute(_credited()), converter(session))


def campaign_revenue(session: Session, campaign_id: uuid.UUID) -> dict[str, Any]:
    """One campaign's first- and last-touch revenue (the campaign report's figures)."""
    found = _collect(session.execute(_credited(campaign_id)), converter(session))
    empty = Credit("campaign", str(campaign_id), "").as_dict()
    return {
        "first_touch": found.first_touch[0].as_dict() if found.first_touch else empty,
        "last_touch": found.last_touch[0].as_dict() if found.last_touch else empty,
        "currency": found.money.report(),
        "explained": found.money.explain(),
    }
