"""Sales' figures in the report builder: customers (accounts with a won deal) with their RFM segment, churn
risk and lifetime value (:mod:`saas.modules.sfa.analytics`), one row per customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Numeric, String, Uuid, cast, column, false, null, select, values
from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.registry import ReportSource

COLUMNS = (
    ("account_id", Uuid),
    ("segment", String),
    ("churn_risk", String),
    ("r_score", Integer),
    ("f_score", Integer),
    ("m_score", Integer),
    ("customer_since", String),
    ("historical_clv", Numeric),
    ("predicted_clv", Numeric),
    ("won_deals", Integer),
    ("recency_days", Integer),
)
CHURN_RISKS = {
    "none": N_("No sign of churn"),
    "stopped_buying": N_("Stopped buying"),
    "stopped_opening": N_("Stopped opening emails"),
    "stopped_buying_and_opening": N_("Stopped buying and opening emails"),
}


def _churn_risk(kinds: list[str]) -> str:
    return "_and_".join(kinds).replace("_and_stopped_", "_and_") if kinds else "none"


def _rows(session: Session) -> Any:
    """The customers as a VALUES list: RFM scores rank every customer against the others, which SQL over
    the deals alone would repeat; computed once per report in :func:`customer_analytics`."""
    from saas.modules.sfa.analytics import customer_analytics

    rows = [
        (
            c.account_id,
            c.segment.key,
            _churn_risk([reason.kind for reason in c.churn_reasons]),
            c.r,
            c.f,
            c.m,
            str(c.first_won_on.year),
            c.historical_clv,
            c.predicted_clv,
            c.frequency,
            c.recency_days,
        )
        for c in customer_analytics(session).customers
    ]
    if not rows:  # VALUES takes no empty list
        return select(*(cast(null(), type_).label(name) for name, type_ in COLUMNS)).where(false())
    # Written into the statement: a bound parameter per value would pass PostgreSQL's 65,535 at ~6,000
    # customers; every value here is a number, a date's year, an id or one of our own keys.
    table = values(
        *(column(name, type_) for name, type_ in COLUMNS), name="customers", literal_binds=True
    ).data(rows)
    return select(table)


def _value_labels(field: str) -> dict[str, str]:
    from saas.modules.sfa.analytics import SEGMENTS

    if field == "segment":
        return {segment.key: segment.name for segment in SEGMENTS}
    return CHURN_RISKS if field == "churn_risk" else {}


CUSTOMERS = ReportSource(
    key="sfa.customers",
    label=N_("Customers (RFM, churn risk, lifetime value)"),
    rows=_rows,
    groupable=(
        ("segment", N_("RFM segment")),
        ("churn_risk", N_("Churn risk")),
        ("customer_since", N_("Customer since")),
        ("r_score", N_("Recency score")),
        ("f_score", N_("Frequency score")),
        ("m_score", N_("Monetary score")),
    ),
    summable=(
        ("historical_clv", N_("Lifetime value so far")),
        ("predicted_clv", N_("Predicted lifetime value")),
        ("won_deals", N_("Won deals")),
        ("recency_days", N_("Days since the last won deal")),
    ),
    value_labels=_value_labels,
)
