"""Customer analytics on small hand-made histories: exact RFM quintiles and segments, historical and
predictive lifetime value (one deal in a currency with a rate converted, one without left out and named),
churn reasons (stopped buying: no won deal for more than twice the usual interval; stopped opening: the
last three campaign emails unopened after an earlier open), deals per month by lead source; another
workspace sees none of it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.currencies import set_rate
from saas.modules.core.services import accounts, contacts
from saas.modules.marketing.models import CampaignRecipient
from saas.modules.sfa import analytics
from saas.modules.sfa.analytics import ChurnReason
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Stage
from tests.modules.marketing.conftest import make_campaign

TODAY = date(2031, 1, 1)
HISTORY = {
    # account: [(won on, amount, currency)]
    "Alpha": [("2030-09-02", "1000", "EUR"), ("2030-10-02", "1000", "EUR"), ("2030-11-01", "1000", "EUR"),
              ("2030-12-01", "1000", "EUR")],
    "Bravo": [("2030-01-01", "500", "EUR"), ("2030-02-01", "500", "EUR"), ("2030-03-03", "500", "EUR")],
    "Charlie": [("2030-12-20", "1000", "USD")],
    "Delta": [("2029-01-01", "2000", "EUR"), ("2029-07-02", "3000", "EUR")],
    "Echo": [("2030-06-01", "100", "GBP")],
}  # fmt: skip


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def won_deal(session, account_id, day: str, amount: str, currency: str, **fields):
    stages = {stage.name: stage.id for stage in session.scalars(select(Stage))}
    deal = deals.create(
        session,
        {"name": "Deal", "amount": Decimal(amount), "currency": currency, "account_id": account_id, **fields},
    )
    deals.move(session, deal.id, stages["Won"])
    deal.closed_at = at(day)
    session.flush()
    return deal


def build_history(fixture) -> dict[str, uuid.UUID]:
    with tenant_session(fixture.ref) as session:
        set_rate(session, "USD", "0.9", date(2030, 1, 1), actor_user_id=None)
        ids = {}
        for name, won in HISTORY.items():
            ids[name] = accounts.create(session, {"name": name}).id
            for day, amount, currency in won:
                won_deal(session, ids[name], day, amount, currency)
        # An open and a lost deal count nowhere; a deal won after "today" is not yet history.
        deals.create(session, {"name": "Open", "amount": Decimal(9999), "account_id": ids["Echo"]})
        won_deal(session, ids["Echo"], "2031-02-01", "9999", "EUR")
        return ids


def test_rfm_quintiles_segments_and_lifetime_value_are_exact(tenant_a):
    ids = build_history(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        result = analytics.customer_analytics(session, TODAY)
    got = {c.account_name: c for c in result.customers}
    # By revenue, highest first.
    assert [c.account_name for c in result.customers] == ["Delta", "Alpha", "Bravo", "Charlie", "Echo"]
    assert {n: (c.recency_days, c.frequency, c.monetary) for n, c in got.items()} == {
        "Alpha": (31, 4, Decimal("4000.00")),
        "Bravo": (304, 3, Decimal("1500.00")),
        "Charlie": (12, 1, Decimal("900.00")),  # 1000 USD at 0.9
        "Delta": (548, 2, Decimal("5000.00")),
        "Echo": (214, 1, Decimal("0.00")),  # GBP has no rate: left out, and said so
    }
    assert {n: c.rfm for n, c in got.items()} == {
        "Alpha": "454", "Bravo": "243", "Charlie": "512", "Delta": "135", "Echo": "311"
    }  # fmt: skip
    assert {n: c.segment.key for n, c in got.items()} == {
        "Alpha": "champions", "Bravo": "at_risk", "Charlie": "new", "Delta": "at_risk",
        "Echo": "needs_attention",
    }  # fmt: skip
    assert got["Echo"].unconverted_deals == 1 and result.rates.missing == {"GBP"}
    assert set(result.rates.used) == {"USD"}
    # Predictive CLV = average order value x purchases a year (at least one year counted) x 3 years.
    assert {n: (c.average_order_value, c.purchases_per_year, c.predicted_clv) for n, c in got.items()} == {
        "Alpha": (Decimal("1000.00"), Decimal("4.00"), Decimal("12000.00")),
        "Bravo": (Decimal("500.00"), Decimal("3.00"), Decimal("4500.00")),
        "Charlie": (Decimal("900.00"), Decimal("1.00"), Decimal("2700.00")),
        "Delta": (Decimal("2500.00"), Decimal("1.00"), Decimal("7500.00")),
        "Echo": (None, Decimal("1.00"), None),
    }
    assert {s.key: n for s, n in result.by_segment()} == {
        "champions": 1, "loyal": 0, "new": 1, "needs_attention": 1, "at_risk": 2, "hibernating": 0, "lost": 0
    }  # fmt: skip
    assert got["Alpha"].account_id == ids["Alpha"]


def test_every_recency_and_frequency_score_pair_has_a_segment_and_every_segment_is_reached():
    reached = {analytics.segment_of(r, f).key for r in range(1, 6) for f in range(1, 6)}
    assert reached == {segment.key for segment in analytics.SEGMENTS}


def test_churn_reasons_stopped_buying_and_stopped_opening(tenant_a):
    ids = build_history(tenant_a)
    campaign_ids = [uuid.UUID(make_campaign(tenant_a, name=f"News {i}")) for i in range(4)]
    with tenant_session(tenant_a.ref) as session:
        charlie = contacts.create(session, {"first_name": "Cee", "email": "cee@example.org",
                                            "account_id": ids["Charlie"]}).id  # fmt: skip
        alpha = contacts.create(session, {"first_name": "Al", "email": "al@example.org",
                                          "account_id": ids["Alpha"]}).id  # fmt: skip
        sent = at("2030-10-01")

        def email(index: int, contact_id, day: datetime, opened: datetime | None = None) -> None:
            recipient = CampaignRecipient(
                campaign_id=campaign_ids[index],
                contact_id=contact_id,
                email="x@example.org",
                status="sent",
                sent_at=day,
                opened_at=opened,
            )
            session.add(recipient)

        for index in range(4):  # Charlie's contact opened the first email, then none of the last three
            day = sent + timedelta(days=20 * index)
            email(index, charlie, day, day + timedelta(days=4) if index == 0 else None)
        for index in range(3):  # Alpha's never opened any: nothing stopped
            email(index, alpha, sent + timedelta(days=index))
        session.flush()
        result = analytics.customer_analytics(session, TODAY)
    reasons = {c.account_name: c.churn_reasons for c in result.customers}
    assert result.marketing_checked
    assert reasons == {
        "Alpha": [],
        "Bravo": [ChurnReason("stopped_buying", 304, Decimal("30.5"))],  # 304 > 2 x median gap 30.5
        "Charlie": [ChurnReason("stopped_opening", unopened_emails=3, last_opened_on=date(2030, 10, 5))],
        "Delta": [ChurnReason("stopped_buying", 548, Decimal("182.0"))],
        "Echo": [],  # one deal: no usual interval to be late against
    }


def test_tenant_b_sees_none_of_tenant_a_customers_or_deals(tenant_a, tenant_b):
    build_history(tenant_a)
    with tenant_session(tenant_b.ref) as session:
        assert analytics.customer_analytics(session, TODAY).customers == []
        assert analytics.cohorts(session, date(2029, 1, 1), 24) == []
