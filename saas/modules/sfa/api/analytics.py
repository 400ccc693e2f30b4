"""API resources /api/v1/analytics/customers and /api/v1/analytics/cohorts: thin wrappers over
:mod:`saas.modules.sfa.analytics`."""

from __future__ import annotations

from datetime import UTC, datetime

from saas.api import token_auth
from saas.modules.sfa import analytics
from saas.modules.sfa.analytics_schemas import (
    CohortQuery,
    CohortsOut,
    CustomerAnalyticsOut,
    CustomerAnalyticsQuery,
)
from saas.modules.sfa.blueprints import api
from saas.tenants.routing import current_tenant_session


@api.get("/analytics/customers")
@api.auth_required(token_auth)
@api.input(CustomerAnalyticsQuery, location="query")
@api.output(CustomerAnalyticsOut)
@api.doc(
    summary="Customer analytics: RFM segments, lifetime value and churn risk per account",
    description="Computed on read from won deals. Recency, frequency and monetary are scored 1..5 by "
    "quintile among the workspace's customers (equal values share a score); monetary is in the base "
    "currency at the latest rates on file (`rates_used`; currencies in `not_converted` are left out). "
    "`predicted_clv` = average order value x won deals a year (at least one year counted) x "
    "`expected_lifetime_years`.",
)
def get_customer_analytics(query_data: dict):
    on = query_data["on"] or datetime.now(UTC).date()
    return analytics.customer_analytics(current_tenant_session(), on).report(query_data["segment"])


@api.get("/analytics/cohorts")
@api.auth_required(token_auth)
@api.input(CohortQuery, location="query")
@api.output(CohortsOut)
@api.doc(
    summary="Deals created, won and lost per month, by lead source",
    description="Months in UTC. A deal's source is that of the lead it was converted from. `created`, "
    "`won` and `lost` count what happened in the month; `cohort_*` follow the deals created in it.",
)
def get_deal_cohorts(query_data: dict):
    start = analytics.month_start(query_data["start"], datetime.now(UTC).date())
    return analytics.cohort_report(current_tenant_session(), start, query_data["months"])
