"""The sales module's cards on the tenant dashboard: pipeline by stage, forecast, new leads per week.

Built per request for the dashboard page only, so their words are in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from babel.lists import format_list as _format_list
from flask_babel import format_decimal, get_locale, gettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.errors import Conflict
from saas.i18n import N_, translate
from saas.modules.core.currencies import converter, rate_equation
from saas.modules.core.dashboard import created_per_week, week_labels
from saas.modules.registry import DashboardCard, NavEntry, Series
from saas.modules.sfa.forecast import forecast
from saas.modules.sfa.models import Deal, Lead

FORECAST_MONTHS = 6
FORECAST_SERIES = (
    ("weighted", N_("Weighted")),
    ("committed", N_("Committed")),
    ("best_case", N_("Best case")),
)


def format_list(items: list[str]) -> str:
    return _format_list(items, locale=get_locale())


def _money(amount: Decimal) -> str:
    return format_decimal(amount, "#,##0.00")


def pipeline_card(session: Session) -> DashboardCard:
    """Open deals of the default pipeline: amount per open stage, one series per currency."""
    from saas.modules.sfa.pipelines import default_pipeline  # imports sfa.module: not at import time

    try:
        pipeline = default_pipeline(session)
    except Conflict:
        return DashboardCard(
            "sfa.pipeline",
            gettext("Pipeline by stage"),
            (),
            (),
            empty=gettext("This workspace has no pipeline."),
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
    worth = format_list([f"{_money(total)} {currency}" for currency, total in sorted(totals.items())])
    rates = converter(session)
    if set(totals) - {rates.base}:  # something to convert: say it in the base currency, with its rates
        worth = gettext("%(amounts)s, in all %(total)s", amounts=worth, total=rates.describe(totals))
    return DashboardCard(
        key="sfa.pipeline",
        title=gettext("Pipeline by stage (%(pipeline)s)", pipeline=translate(pipeline.name)),
        labels=tuple(translate(stage.name) for stage in stages),
        series=tuple(
            Series(currency, tuple(float(amounts[currency].get(stage.id, 0)) for stage in stages))
            for currency in sorted(amounts)
        ),
        summary=(
            ngettext(
                "%(num)d open deal worth %(worth)s.",
                "%(num)d open deals worth %(worth)s.",
                count,
                worth=worth,
            )
            if worth
            else ngettext("%(num)d open deal.", "%(num)d open deals.", count)
        ),
        link=NavEntry(gettext("See the pipeline"), "sfa.kanban"),
        empty=gettext("No open deals yet: create one and it shows here by stage."),
        order=10,
    )


def forecast_cards(session: Session) -> list[DashboardCard]:
    """The next months' forecast, one card per currency (never adding different currencies)."""
    result = forecast(session, start=datetime.now(UTC).date(), months=FORECAST_MONTHS)
    labels = tuple(result["months"])
    link = NavEntry(gettext("See the forecast"), "sfa.forecast_page")
    if not result["currencies"]:
        return [
            DashboardCard(
                "sfa.forecast",
                gettext("Forecast"),
                labels,
                (),
                link=link,
                order=20,
                empty=gettext("No deals close in the next months yet: give a deal a close date."),
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
                title=gettext("Forecast (%(currency)s)", currency=currency),
                labels=labels,
                series=_forecast_series(row["by_month"]),
                unit=currency,
                summary=gettext(
                    "Next %(months)d months: %(weighted)s weighted, %(best)s best case.",
                    months=FORECAST_MONTHS,
                    weighted=f"{_money(totals['weighted'])} {currency}",
                    best=f"{_money(totals['best_case'])} {currency}",
                ),
                link=link,
                order=20,
            )
        )
    return cards


def _forecast_series(by_month: list[dict]) -> tuple[Series, ...]:
    """Weighted, committed and best case by month, as the forecast cards draw them."""
    return tuple(
        Series(gettext(name), tuple(float(month[key]) for month in by_month)) for key, name in FORECAST_SERIES
    )


def _base_currency_forecast_card(base: dict, labels: tuple[str, ...], link: NavEntry) -> DashboardCard:
    currency, totals = base["base_currency"], base["totals"]
    rates = "; ".join(rate_equation(r["currency"], r["rate"], currency) for r in base["rates_used"])
    missing = (
        " " + gettext("No rate for %(currencies)s: left out.", currencies=", ".join(base["not_converted"]))
        if base["not_converted"]
        else ""
    )
    return DashboardCard(
        key="sfa.forecast.base",
        title=gettext("Forecast, all currencies in %(currency)s", currency=currency),
        labels=labels,
        series=_forecast_series(base["by_month"]),
        unit=currency,
        summary=(
            gettext(
                "Next %(months)d months: %(weighted)s weighted (at %(rates)s).",
                months=FORECAST_MONTHS,
                weighted=f"{_money(totals['weighted'])} {currency}",
                rates=rates,
            )
            if rates
            else gettext(
                "Next %(months)d months: %(weighted)s weighted.",
                months=FORECAST_MONTHS,
                weighted=f"{_money(totals['weighted'])} {currency}",
            )
        )
        + missing,
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
        title=gettext("New leads per week"),
        labels=week_labels(today),
        series=(Series(gettext("New leads"), per_week),),
        summary=ngettext(
            "%(num)d new in the last %(weeks)d weeks; %(open)d still open.",
            "%(num)d new in the last %(weeks)d weeks; %(open)d still open.",
            sum(per_week),
            weeks=len(per_week),
            open=open_leads or 0,
        ),
        link=NavEntry(gettext("See the leads"), "sfa.list_leads"),
        empty=gettext("No leads in the last weeks: add one or import a CSV file."),
        order=30,
    )


def dashboard(session: Session) -> list[DashboardCard]:
    return [pipeline_card(session), *forecast_cards(session), new_leads_card(session)]
