"""The forecast page /t/<slug>/forecast: per currency, a bar chart (inline SVG, drawn here) and tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import render_template, request
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.core.views.records import load_form, member_choices, workspace_people
from saas.modules.sfa import pipelines, win_rates
from saas.modules.sfa.api.forecast import first_of_month
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deal_schemas import ForecastQuery
from saas.modules.sfa.forecast import forecast, window_scope
from saas.tenants.routing import current_tenant_session

SERIES = (("weighted", N_("Weighted")), ("committed", N_("Committed")), ("best_case", N_("Best case")))
CHART_HEIGHT = 200
BAR_WIDTH = 14
GROUP_GAP = 18


@dataclass(frozen=True)
class Bar:
    series: str
    x: int
    y: float
    height: float
    value: Decimal


@dataclass(frozen=True)
class MonthBars:
    month: str
    x: int
    bars: list[Bar]


def bar_chart(by_month: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of a grouped bar chart: per month a bar for each series, scaled to the largest value."""
    top = max((row[key] for row in by_month for key, _ in SERIES), default=Decimal(0)) or Decimal(1)
    group = BAR_WIDTH * len(SERIES) + GROUP_GAP
    months = []
    for index, row in enumerate(by_month):
        x = GROUP_GAP + index * group
        bars = []
        for offset, (key, _) in enumerate(SERIES):
            height = float(row[key] / top) * CHART_HEIGHT
            bars.append(Bar(key, x + offset * BAR_WIDTH, CHART_HEIGHT - height, height, row[key]))
        months.append(MonthBars(row["month"], x, bars))
    return {"months": months, "width": GROUP_GAP + len(by_month) * group, "height": CHART_HEIGHT, "top": top}


@pages.route("/forecast")
def forecast_page():
    fields = ForecastQuery().fields
    given = {name: value for name, value in request.args.items() if name in fields and value != ""}
    message, errors = None, {}
    try:
        query = load_form(ForecastQuery(), given, gettext("Please correct the forecast's settings."))
    except ValidationError as error:
        message, errors = error.detail, error.errors
        query = ForecastQuery().load({})
    session = current_tenant_session()
    result = forecast(session, **{**query, "start": first_of_month(query["start"])})
    scope = window_scope(
        first_of_month(query["start"]), query["months"], query.get("pipeline_id"), query.get("owner_user_id")
    )
    rates = win_rates.stage_rates(session)
    return render_template(
        "sfa/forecast.html",
        rates=rates,
        learned_any=any(rate.enough_history for rate in rates),
        minimum=win_rates.MIN_CLOSED_DEALS,
        learned=win_rates.learned_forecast(session, scope),
        back_test=win_rates.back_test(session, datetime.now(UTC).date()),
        pipeline_names={p.id: p.name for p in pipelines.list_pipelines(session)},
        result=result,
        charts={row["currency"]: bar_chart(row["by_month"]) for row in result["currencies"]},
        series=SERIES,
        series_labels=dict(SERIES),
        args=request.args,
        pipelines=pipelines.list_pipelines(session),
        owners=[choice for choice in member_choices() if choice[0] != ""],
        people=workspace_people(),
        message=message,
        errors=errors,
    ), 422 if message else 200
