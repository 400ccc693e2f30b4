"""The sales module's cards on the tenant dashboard: pipeline by stage, forecast, new leads per week."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.errors import Conflict
from saas.modules.core.currencies import converter
from saas.modules.core.dashboard import created_per_week, week_labels
from saas.modules.registry import DashboardCard, NavEntry, Series
from saas.modules.sfa.forecast import forecast
from saas.modules.sfa.models import Deal, Lead

FORECAST_MONTHS = 6
FORECAST_SERIES = (("weighted", "Weighted"), ("committed", "Committed"), ("best_case", "Best case"))


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def pipeline_card(session: Session) -> DashboardCard:
    """Open deals of the default pipeline: amount per open stage, one series per currency."""
    from saas.modules.sfa.pipelines import default_pipeline  # imports sfa.module: not at import time

    try:
        pipeline = default_pipeline(session)
    except Conflict:
        return DashboardCard(
            "sfa.pipeline", "Pipeline by stage", (), (), empty="This workspace has no pipeline."
        )
    stages = [stage for stage in pipeline.stages if stage.kind == "open"]
    rows = session.execute(
        select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount))
        .where(Deal.pipeline_id == pipeline.id, Deal.status == "open")
        .group_by(Deal.stage_id, Deal.currency)
    ).all()
    amounts: dict[str, dict] = {}
    count, totals = 0, {}
    for stage_id, currency, deals, amount in rows:
        amounts.setdefault(currency, {})[stage_id] = amount
        count += deals
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    worth = " and ".join(f"{_money(total)} {currency}" for currency, total in sorted(totals.items()))
    rates = converter(session)
    if set(totals) - {rates.base}:  # something to convert: say it in the base currency, with its rates
        worth += f", in all {rates.describe(totals)}"
    return DashboardCard(
        key="sfa.pipeline",
        title=f"Pipeline by stage ({pipeline.name})",
        labels=tuple(stage.name for stage in stages),
        series=tuple(
            Series(currency, tuple(float(amounts[currency].get(stage.id, 0)) for stage in stages))
            for currency in sorted(amounts)
        ),
        summary=f"{count} open deal{'' if count == 1 else 's'}" + (f" worth {worth}." if worth else "."),
        link=NavEntry("See the pipeline", "sfa.kanban"),
        empty="No open deals yet: create one and it shows here by stage.",
        order=10,
    )


def forecast_cards(session: Session) -> list[DashboardCard]:
    """The next months' forecast, one card per currency (never adding different currencies)."""
    result = forecast(session, start=datetime.now(UTC).date(), months=FORECAST_MONTHS)
    labels = tuple(result["months"])
    link = NavEntry("See the forecast", "sfa.forecast_page")
    if not result["currencies"]:
        return [
            DashboardCard(
                "sfa.forecast",
                "Forecast",
                labels,
                (),
                link=link,
                order=20,
                empty="No deals close in the next months yet: give a deal a close date.",
            )
        ]
    cards = []
    base = result["in_base_currency"]
    if {row["currency"] for row in result["currencies"]} - {base["base_currency"]}:
        cards.append(_base_currency_forecast_card(base, labels, link))
    for row in result["currencies"]:
        currency, totals = row["currency"], row["totals"]
        cards.append(
            DashboardCard(
                key=f"sfa.forecast.{currency.lower()}",
                title=f"Forecast ({currency})",
                labels=labels,
                series=tuple(
                    Series(name, tuple(float(month[key]) for month in row["by_month"]))
                    for key, name in FORECAST_SERIES
                ),
                unit=currency,
                summary=(
                    f"Next {FORECAST_MONTHS} months: {_money(totals['weighted'])} {currency} weighted, "
                    f"{_money(totals['best_case'])} {currency} best case."
                ),
                link=link,
                order=20,
            )
        )
    return cards


def _base_currency_forecast_card(base: dict, labels: tuple[str, ...], link: NavEntry) -> DashboardCard:
    currency, totals = base["base_currency"], base["totals"]
    rates = "; ".join(f"1 {r['currency']} = {r['rate'].normalize():f} {currency}" for r in base["rates_used"])
    missing = f" No rate for {', '.join(base['not_converted'])}: left out." if base["not_converted"] else ""
    return DashboardCard(
        key="sfa.forecast.base",
        title=f"Forecast, all currencies in {currency}",
        labels=labels,
        series=tuple(
            Series(name, tuple(float(month[key]) for month in base["by_month"]))
            for key, name in FORECAST_SERIES
        ),
        unit=currency,
        summary=(
            f"Next {FORECAST_MONTHS} months: {_money(totals['weighted'])} {currency} weighted"
            + (f" (at {rates})." if rates else ".")
            + missing
        ),
        link=link,
        order=19,
    )


def new_leads_card(session: Session) -> DashboardCard:
    today = datetime.now(UTC).date()
    per_week = created_per_week(session, Lead.created_at, today)
    open_leads = session.scalar(
        select(func.count()).select_from(Lead).where(Lead.status.in_(("new", "working", "qualified")))
    )
    return DashboardCard(
        key="sfa.new_leads",
        title="New leads per week",
        labels=week_labels(today),
        series=(Series("New leads", per_week),),
        summary=f"{sum(per_week)} new in the last {len(per_week)} weeks; {open_leads or 0} still open.",
        link=NavEntry("See the leads", "sfa.list_leads"),
        empty="No leads in the last weeks: add one or import a CSV file.",
        order=30,
    )


def dashboard(session: Session) -> list[DashboardCard]:
    return [pipeline_card(session), *forecast_cards(session), new_leads_card(session)]
