"""The sales forecast: what the deals expected to close in each month are worth, by owner and currency.

Three figures, all including what is already won in the month, never adding different currencies:

* **weighted**: won amounts plus each open deal's amount times its stage's win probability;
* **committed**: won amounts plus the full amount of open deals at or above the commit threshold;
* **best case**: won amounts plus the full amount of every open deal.

Lost deals count nowhere; deals without a close date are counted apart (``undated_deals``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from saas.db import TenantSession
from saas.modules.core.currencies import Converter, converter
from saas.modules.sfa.models import Deal, Stage

ZERO = Decimal("0")
CENT = Decimal("0.01")
DEFAULT_THRESHOLD = 75


@dataclass
class Figures:
    """Exact sums (weighted keeps its fractions of a cent); rounded to cents only when reported."""

    deals: int = 0
    won: Decimal = ZERO
    weighted: Decimal = ZERO
    committed: Decimal = ZERO
    best_case: Decimal = ZERO

    def add(self, other: Figures) -> None:
        self.deals += other.deals
        self.won += other.won
        self.weighted += other.weighted
        self.committed += other.committed
        self.best_case += other.best_case

    def report(self, **labels: Any) -> dict[str, Any]:
        def cents(amount: Decimal) -> Decimal:
            return amount.quantize(CENT, rounding=ROUND_HALF_UP)

        return {
            **labels,
            "deals": self.deals,
            "won": cents(self.won),
            "weighted": cents(self.weighted),
            "committed": cents(self.committed),
            "best_case": cents(self.best_case),
        }


@dataclass
class _CurrencyFigures:
    totals: Figures = field(default_factory=Figures)
    by_month: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    by_owner: dict[uuid.UUID | None, Figures] = field(default_factory=lambda: defaultdict(Figures))
    cells: dict[tuple[str, uuid.UUID | None], Figures] = field(default_factory=dict)


def month_window(start: date, months: int) -> list[str]:
    """``months`` months from ``start``'s month on, as ``YYYY-MM``."""
    first = start.year * 12 + start.month - 1
    return [f"{(first + i) // 12:04d}-{(first + i) % 12 + 1:02d}" for i in range(months)]


def _window_end(start: date, months: int) -> date:
    last = start.year * 12 + start.month - 1 + months
    return date(last // 12, last % 12 + 1, 1)


def deal_scope(pipeline_id: uuid.UUID | None, owner_user_id: uuid.UUID | None) -> list[Any]:
    """The deals a forecast counts, whatever their close date: not lost, in the pipeline and owner asked."""
    scope = [Deal.status != "lost"]
    if pipeline_id is not None:
        scope.append(Deal.pipeline_id == pipeline_id)
    if owner_user_id is not None:
        scope.append(Deal.owner_user_id == owner_user_id)
    return scope


def window_scope(
    start: date, months: int, pipeline_id: uuid.UUID | None, owner_user_id: uuid.UUID | None
) -> list[Any]:
    """The deals of a forecast's window: its scope, closing in ``months`` months from ``start``'s month."""
    start = start.replace(day=1)
    return [
        *deal_scope(pipeline_id, owner_user_id),
        Deal.close_date >= start,
        Deal.close_date < _window_end(start, months),
    ]


def forecast(
    session: TenantSession,
    *,
    start: date,
    months: int = 6,
    pipeline_id: uuid.UUID | None = None,
    owner_user_id: uuid.UUID | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """The forecast of ``months`` months from ``start``'s month, per currency (by month, owner, both)."""
    start = start.replace(day=1)
    window = month_window(start, months)
    scope = deal_scope(pipeline_id, owner_user_id)

    month = func.to_char(Deal.close_date, "YYYY-MM")
    is_open, is_won = Deal.status == "open", Deal.status == "won"
    rows = session.execute(
        select(
            Deal.currency,
            month,
            Deal.owner_user_id,
            func.count(),
            func.coalesce(func.sum(Deal.amount).filter(is_won), ZERO),
            func.coalesce(func.sum(Deal.amount * Stage.probability).filter(is_open), ZERO),
            func.coalesce(func.sum(Deal.amount).filter(is_open & (Stage.probability >= threshold)), ZERO),
            func.coalesce(func.sum(Deal.amount).filter(is_open), ZERO),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*window_scope(start, months, pipeline_id, owner_user_id))
        .group_by(Deal.currency, month, Deal.owner_user_id)
    )
    per_currency: dict[str, _CurrencyFigures] = defaultdict(_CurrencyFigures)
    for currency, in_month, owner, count, won, open_weighted, open_committed, open_all in rows:
        figures = Figures(count, won, won + open_weighted / 100, won + open_committed, won + open_all)
        summary = per_currency[currency]
        summary.cells[(in_month, owner)] = figures
        for total in (summary.totals, summary.by_month[in_month], summary.by_owner[owner]):
            total.add(figures)

    undated = session.scalar(select(func.count()).select_from(Deal).where(*scope, Deal.close_date.is_(None)))
    rates = converter(session)
    return {
        "months": window,
        "threshold": threshold,
        "pipeline_id": pipeline_id,
        "owner_user_id": owner_user_id,
        "undated_deals": undated or 0,
        "currencies": [
            _report(currency, per_currency[currency], window) for currency in sorted(per_currency)
        ],
        "in_base_currency": _in_base_currency(per_currency, window, rates),
    }


def _in_base_currency(per_currency: dict[str, _CurrencyFigures], window: list[str], rates: Converter) -> dict:
    """Every currency's figures in the base currency at its latest rate; currencies without a rate are
    named in ``not_converted`` and left out, never guessed."""
    totals, by_month = Figures(), {month: Figures() for month in window}
    for currency, summary in per_currency.items():
        for target, figures in (
            (totals, summary.totals),
            *((by_month[m], summary.by_month[m]) for m in window),
        ):
            converted = _converted(figures, currency, rates)
            if converted is not None:
                target.add(converted)
    return {
        **rates.report(),
        "totals": totals.report(),
        "by_month": [by_month[m].report(month=m) for m in window],
    }


def _converted(figures: Figures, currency: str, rates: Converter) -> Figures | None:
    converted = [
        rates.convert(a, currency)
        for a in (figures.won, figures.weighted, figures.committed, figures.best_case)
    ]
    return None if converted[0] is None else Figures(figures.deals, *converted)


def _report(currency: str, summary: _CurrencyFigures, window: list[str]) -> dict[str, Any]:
    owners = sorted(summary.by_owner.items(), key=lambda item: (-item[1].weighted, str(item[0])))
    return {
        "currency": currency,
        "totals": summary.totals.report(),
        "by_month": [summary.by_month.get(m, Figures()).report(month=m) for m in window],
        "by_owner": [figures.report(owner_user_id=owner) for owner, figures in owners],
        "cells": [
            figures.report(month=m, owner_user_id=owner)
            for (m, owner), figures in sorted(
                summary.cells.items(), key=lambda item: (item[0][0], str(item[0][1]))
            )
        ],
    }
