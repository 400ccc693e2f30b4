"""API resource /api/v1/forecast: the weighted, committed and best-case pipeline by month and owner."""

from __future__ import annotations

from datetime import UTC, date, datetime

from saas.api import token_auth
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.deal_schemas import ForecastOut, ForecastQuery
from saas.modules.sfa.forecast import forecast
from saas.tenants.routing import current_tenant_session


def first_of_month(text: str | None) -> date:
    """``YYYY-MM`` (already validated) as its first day; this month when empty."""
    if not text:
        return datetime.now(UTC).date().replace(day=1)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


@api.get("/forecast")
@api.auth_required(token_auth)
@api.input(ForecastQuery, location="query")
@api.output(ForecastOut)
@api.doc(
    summary="Sales forecast by month and owner, per currency",
    description="Amounts are decimal strings and never add different currencies. `weighted` = won + "
    "open amount * stage probability; `committed` = won + open deals at or above `threshold`; "
    "`best_case` = won + all open deals. Lost deals count nowhere.",
)
def get_forecast(query_data: dict):
    return forecast(current_tenant_session(), **{**query_data, "start": first_of_month(query_data["start"])})
