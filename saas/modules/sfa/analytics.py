"""Customer analytics computed on read from won deals: RFM scores and segments, lifetime value, churn risk
with its reasons (one statement for every account), and deals created, won and lost per month by the
source of the lead they came from.

RFM: recency = days since the account's last won deal, frequency = its won deals, monetary = their sum in
the workspace's base currency at the latest rates on file (a deal in a currency without a rate is left out
of the sum and named). Each is scored 1..5 by quintile among the workspace's customers:
``1 + floor(5 * percent_rank())`` capped at 5, so equal values share a score (NTILE would split ties
arbitrarily); a more recent last deal scores higher. The segment names follow the usual R x F grid
(:data:`SEGMENTS`, first match wins).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, Numeric, String, cast, column, func, literal, select, values
from sqlalchemy.orm import Session

from saas.db import db
from saas.i18n import N_
from saas.modules.core.currencies import CENT, Converter, converter
from saas.modules.core.models import Account, Contact
from saas.modules.sfa.models import Deal, Lead
from saas.modules.switches import is_module_enabled

EXPECTED_LIFETIME_YEARS = 3
"""How long a customer is expected to keep buying, for the predictive CLV (a stated assumption)."""
CHURN_GAP_FACTOR = 2
"""An account has stopped buying when its last won deal is more than this many usual intervals ago."""
UNOPENED_EMAILS = 3
"""An account has stopped opening when none of the last this-many campaign emails to its contacts was
opened (or clicked), though an earlier one was."""


@dataclass(frozen=True)
class RfmSegment:
    key: str
    name: str
    """Marked with ``N_``; translated where shown."""
    recency: tuple[int, int]
    frequency: tuple[int, int]
    meaning: str

    def holds(self, r: int, f: int) -> bool:
        return self.recency[0] <= r <= self.recency[1] and self.frequency[0] <= f <= self.frequency[1]


SEGMENTS = (
    RfmSegment("champions", N_("Champions"), (4, 5), (4, 5), N_("Bought recently and often.")),
    RfmSegment("loyal", N_("Loyal"), (3, 5), (3, 5), N_("Buy regularly.")),
    RfmSegment("new", N_("New"), (4, 5), (1, 2), N_("Bought recently, but seldom so far.")),
    RfmSegment("needs_attention", N_("Needs attention"), (3, 3), (1, 2), N_("Neither recent nor frequent.")),
    RfmSegment("at_risk", N_("At risk"), (1, 2), (3, 5), N_("Used to buy often, not lately.")),
    RfmSegment("hibernating", N_("Hibernating"), (2, 2), (1, 2), N_("Bought seldom, a while ago.")),
    RfmSegment("lost", N_("Lost"), (1, 1), (1, 2), N_("Bought seldom, longest ago.")),
)
"""Every (R, F) pair of 1..5 falls in exactly one segment, tried in this order."""


def segment_of(r: int, f: int) -> RfmSegment:
    return next(segment for segment in SEGMENTS if segment.holds(r, f))


@dataclass(frozen=True)
class ChurnReason:
    kind: str
    """``stopped_buying`` or ``stopped_opening``."""
    days_since_last_won: int | None = None
    usual_interval_days: Decimal | None = None
    unopened_emails: int | None = None
    last_opened_on: date | None = None


@dataclass(frozen=True)
class Customer:
    account_id: uuid.UUID
    account_name: str
    first_won_on: date
    last_won_on: date
    recency_days: int
    frequency: int
    monetary: Decimal
    """Won revenue in the base currency: the historical CLV."""
    unconverted_deals: int
    """Won deals left out of ``monetary``: no rate on file for their currency."""
    r: int
    f: int
    m: int
    segment: RfmSegment
    average_order_value: Decimal | None
    purchases_per_year: Decimal
    predicted_clv: Decimal | None
    usual_interval_days: Decimal | None
    churn_reasons: list[ChurnReason] = field(default_factory=list)

    @property
    def rfm(self) -> str:
        return f"{self.r}{self.f}{self.m}"

    @property
    def historical_clv(self) -> Decimal:
        return self.monetary


@dataclass(frozen=True)
class CustomerAnalytics:
    today: date
    customers: list[Customer]
    rates: Converter
    marketing_checked: bool
    """Whether email opens were looked at (the marketing module is on)."""

    def by_segment(self) -> list[tuple[RfmSegment, int]]:
        counts = {segment.key: 0 for segment in SEGMENTS}
        for customer in self.customers:
            counts[customer.segment.key] += 1
        return [(segment, counts[segment.key]) for segment in SEGMENTS]

    def in_segment(self, key: str | None) -> list[Customer]:
        """The customers of one segment (all with None); scores stay ranked among every customer."""
        return [c for c in self.customers if key is None or c.segment.key == key]

    def report(self, segment: str | None = None) -> dict[str, Any]:
        """The figures as the API answers them (``CustomerAnalyticsOut``), customers of ``segment`` only
        if given."""
        rates = self.rates.report()
        return {
            "as_of": self.today,
            "base_currency": rates["base_currency"],
            "rates_used": rates["rates_used"],
            "not_converted": rates["not_converted"],
            "expected_lifetime_years": EXPECTED_LIFETIME_YEARS,
            "opens_checked": self.marketing_checked,
            "segments": [
                {
                    "key": s.key,
                    "name": s.name,
                    "recency": list(s.recency),
                    "frequency": list(s.frequency),
                    "customers": count,
                }
                for s, count in self.by_segment()
            ],
            "customers": self.in_segment(segment),
        }


def _rates_table(rates: Converter) -> Any:
    """The converter's rates as a VALUES list (the base currency at 1), so SQL converts every deal."""
    rows = [(rates.base, Decimal(1))] + [(c, r.rate) for c, r in rates.rates.items() if c != rates.base]
    return values(column("currency", String), column("rate", Numeric), name="rates").data(rows)


def _utc_day(moment: Any) -> Any:
    """The calendar day (UTC) of a ``timestamptz`` column."""
    return cast(func.timezone("UTC", moment), Date)


def _quintile(order_by: Any) -> Any:
    return func.least(5, 1 + func.floor(5 * func.percent_rank().over(order_by=order_by)))


def _customer_rows(session: Session, today: date, rates: Converter) -> list[Any]:
    """Per account with a won deal: its dates, counts, base-currency sum, median gap and R, F, M scores."""
    table = _rates_table(rates)
    won_on = _utc_day(Deal.closed_at).label("won_on")
    won = (
        select(Deal.account_id, won_on, (Deal.amount * table.c.rate).label("base_amount"))
        .outerjoin(table, table.c.currency == Deal.currency)
        .where(
            Deal.status == "won",
            Deal.account_id.is_not(None),
            Deal.closed_at.is_not(None),
            won_on <= today,
        )
        .subquery("won")
    )
    gap = won.c.won_on - func.lag(won.c.won_on).over(partition_by=won.c.account_id, order_by=won.c.won_on)
    gaps = select(won.c.account_id, won.c.won_on, won.c.base_amount, gap.label("gap")).subquery("gaps")
    per_account = (
        select(
            gaps.c.account_id,
            func.min(gaps.c.won_on).label("first_won_on"),
            func.max(gaps.c.won_on).label("last_won_on"),
            func.count().label("frequency"),
            func.coalesce(func.sum(gaps.c.base_amount), 0).label("monetary"),
            func.count(gaps.c.base_amount).label("converted"),
            func.percentile_cont(0.5).within_group(gaps.c.gap).label("usual_gap"),
        )
        .group_by(gaps.c.account_id)
        .subquery("per_account")
    )
    return session.execute(
        select(
            per_account,
            Account.name,
            (literal(today, Date) - per_account.c.last_won_on).label("recency_days"),
            _quintile(per_account.c.last_won_on).label("r"),
            _quintile(per_account.c.frequency).label("f"),
            _quintile(per_account.c.monetary).label("m"),
        )
        .join(Account, Account.id == per_account.c.account_id)
        .order_by(per_account.c.monetary.desc(), Account.name, Account.id)
    ).all()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _customer(row: Any, today: date) -> Customer:
    monetary = _cents(Decimal(row.monetary))
    average = _cents(monetary / row.converted) if row.converted else None
    # A first-year customer counts as one year: one deal last week is not 52 a year.
    years = max(Decimal((today - row.first_won_on).days) / Decimal("365.25"), Decimal(1))
    per_year = (Decimal(row.frequency) / years).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    usual = None if row.usual_gap is None else Decimal(str(row.usual_gap)).quantize(Decimal("0.1"))
    reasons = []
    if usual is not None and row.recency_days > CHURN_GAP_FACTOR * usual:
        reasons.append(ChurnReason("stopped_buying", row.recency_days, usual))
    return Customer(
        account_id=row.account_id,
        account_name=row.name,
        first_won_on=row.first_won_on,
        last_won_on=row.last_won_on,
        recency_days=row.recency_days,
        frequency=row.frequency,
        monetary=monetary,
        unconverted_deals=row.frequency - row.converted,
        r=int(row.r),
        f=int(row.f),
        m=int(row.m),
        segment=segment_of(int(row.r), int(row.f)),
        average_order_value=average,
        purchases_per_year=per_year,
        predicted_clv=None if average is None else _cents(average * per_year * EXPECTED_LIFETIME_YEARS),
        usual_interval_days=usual,
        churn_reasons=reasons,
    )


def _stopped_opening(session: Session, today: date) -> dict[uuid.UUID, ChurnReason]:
    """Customers (accounts with a won deal) none of whose contacts opened the last :data:`UNOPENED_EMAILS`
    campaign emails sent to them up to ``today``, though someone there opened an earlier one; read only
    where the marketing module is on."""
    from saas.modules.marketing.models import CampaignRecipient  # on: the module's tables are there

    customers = select(Deal.account_id).where(Deal.status == "won")
    sent = (
        select(
            Contact.account_id,
            # A click proves an open whose image was blocked.
            func.coalesce(CampaignRecipient.opened_at, CampaignRecipient.clicked_at).label("opened_at"),
            func.row_number()
            .over(partition_by=Contact.account_id, order_by=CampaignRecipient.sent_at.desc())
            .label("latest"),
        )
        .join(Contact, Contact.id == CampaignRecipient.contact_id)
        .where(
            Contact.account_id.in_(customers),
            CampaignRecipient.sent_at.is_not(None),
            _utc_day(CampaignRecipient.sent_at) <= today,
        )
        .subquery("sent")
    )
    recent = sent.c.latest <= UNOPENED_EMAILS
    rows = session.execute(
        select(
            sent.c.account_id,
            func.count().filter(recent).label("recent"),
            func.count(sent.c.opened_at).filter(recent).label("recent_opened"),
            _utc_day(func.max(sent.c.opened_at)).label("last_opened_on"),
        ).group_by(sent.c.account_id)
    )
    return {
        row.account_id: ChurnReason(
            "stopped_opening", unopened_emails=row.recent, last_opened_on=row.last_opened_on
        )
        for row in rows
        if row.recent == UNOPENED_EMAILS and row.recent_opened == 0 and row.last_opened_on is not None
    }


def customer_analytics(session: Session, today: date | None = None) -> CustomerAnalytics:
    """Every account with a won deal up to ``today``: RFM, lifetime value and churn risk with reasons."""
    today = today or datetime.now(UTC).date()
    rates = converter(session, today)
    customers = [_customer(row, today) for row in _customer_rows(session, today, rates)]
    _note_rates(session, rates)
    checked = _marketing_on(session)
    if checked and customers:
        quiet = _stopped_opening(session, today)
        for customer in customers:
            if customer.account_id in quiet:
                customer.churn_reasons.append(quiet[customer.account_id])
    return CustomerAnalytics(today, customers, rates, checked)


def _note_rates(session: Session, rates: Converter) -> None:
    """Let the converter note the rates SQL used and the currencies it left out, for the page's sentence
    on what the sums rest on (:meth:`Converter.explain`)."""
    won = select(Deal.currency).distinct().where(Deal.status == "won", Deal.account_id.is_not(None))
    for currency in session.scalars(won):
        rates.convert(Decimal(0), currency)


def _marketing_on(session: Session) -> bool:
    tenant = getattr(session, "tenant", None)
    return tenant is not None and is_module_enabled(db.session, tenant.id, "marketing")


# --- deals per month by source -------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    month: str
    """``YYYY-MM`` (UTC)."""
    source: str | None
    """The source of the lead the deal was converted from; None: no lead, or one without a source."""
    created: int
    won: int
    lost: int
    """Deals created, won and lost in the month (over time)."""
    cohort_won: int
    cohort_lost: int
    cohort_open: int
    """Of the deals created in the month, how many are won, lost and open now (the cohort)."""

    @property
    def cohort_win_rate(self) -> int | None:
        decided = self.cohort_won + self.cohort_lost
        return None if not decided else round(100 * self.cohort_won / decided)


def month_start(text: str | None, today: date) -> date:
    """``YYYY-MM`` (validated) as its first day; eleven months before ``today``'s when empty."""
    if text:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    index = today.year * 12 + today.month - 1 - 11
    return date(index // 12, index % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def cohorts(session: Session, start: date, months: int) -> list[CohortRow]:
    """Deals created, won and lost per month from ``start`` for ``months``, by lead source."""
    source = (
        select(func.nullif(func.trim(Lead.source), ""))
        .where(Lead.converted_deal_id == Deal.id)
        .order_by(Lead.converted_at, Lead.id)
        .limit(1)
        .scalar_subquery()
    )
    deals = select(Deal.status, Deal.created_at, Deal.closed_at, source.label("source")).subquery(
        "deals_with_source"
    )
    created = select(
        func.date_trunc("month", func.timezone("UTC", deals.c.created_at)).label("month"),
        deals.c.source,
        literal("created").label("kind"),
        deals.c.status.label("now"),
    )
    closed = select(
        func.date_trunc("month", func.timezone("UTC", deals.c.closed_at)),
        deals.c.source,
        deals.c.status,
        literal(None, String),
    ).where(deals.c.status.in_(("won", "lost")), deals.c.closed_at.is_not(None))
    events = created.union_all(closed).subquery("events")
    first, end = datetime.combine(start, time()), datetime.combine(_add_months(start, months), time())

    def counted(*conditions: Any) -> Any:
        return func.count().filter(*conditions)

    rows = session.execute(
        select(
            events.c.month,
            events.c.source,
            counted(events.c.kind == "created"),
            counted(events.c.kind == "won"),
            counted(events.c.kind == "lost"),
            counted(events.c.kind == "created", events.c.now == "won"),
            counted(events.c.kind == "created", events.c.now == "lost"),
            counted(events.c.kind == "created", events.c.now == "open"),
        )
        .where(events.c.month >= first, events.c.month < end)
        .group_by(events.c.month, events.c.source)
        .order_by(events.c.month, events.c.source.nulls_last())
    )
    return [CohortRow(month.strftime("%Y-%m"), src, *counts) for month, src, *counts in rows]


def cohort_report(session: Session, start: date, months: int) -> dict[str, Any]:
    """The months shown and their rows (``CohortsOut``); a month without deals has no row."""
    return {
        "months": [_add_months(start, i).strftime("%Y-%m") for i in range(months)],
        "rows": cohorts(session, start, months),
    }
