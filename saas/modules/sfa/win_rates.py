"""Win rates learned from the workspace's own closed deals, and how well they would have forecast.

For each open stage: of the closed deals that passed through it, how many were won (stage-to-won
conversion), and the median days deals stayed in it, both read from the stage history
(``deal_stage_changes``). A stage needs ``MIN_CLOSED_DEALS`` closed deals through it before its learned
rate is used; below that the configured probability stands, and the page says so.

The back-test replays the last full quarter: the deals open at its start with an expected close date in
it, each weighted by the configured probability it had then and by the rate learned only from deals
closed before then, against what those deals actually won by the quarter's end.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.modules.sfa.models import Deal, DealStageChange, Stage

MIN_CLOSED_DEALS = 10
"""Closed deals that must have passed through a stage before its learned rate replaces the configured one."""
CENT = Decimal("0.01")
ZERO = Decimal("0")


@dataclass(frozen=True)
class StageRate:
    stage_id: uuid.UUID
    name: str
    pipeline_id: uuid.UUID
    position: int
    configured: int
    """The stage's configured win probability, in percent."""
    closed: int
    """Closed deals that passed through the stage (in the history learned from)."""
    won: int
    median_days: float | None
    """Median days deals stayed in the stage before moving on or closing."""

    @property
    def learned(self) -> Decimal | None:
        """Won of closed, in percent; None without any closed deal."""
        return (Decimal(self.won * 100) / self.closed).quantize(Decimal("0.1")) if self.closed else None

    @property
    def enough_history(self) -> bool:
        return self.closed >= MIN_CLOSED_DEALS

    @property
    def used(self) -> Decimal:
        """The rate the learned forecast uses: learned with enough history, else the configured one."""
        return self.learned if self.enough_history and self.learned is not None else Decimal(self.configured)


@dataclass
class _History:
    """The workspace's deals and their stage moves, loaded once and replayed as of any moment."""

    stages: dict[uuid.UUID, Stage]
    deals: dict[uuid.UUID, Deal]
    moves: dict[uuid.UUID, list[tuple[datetime, uuid.UUID | None, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Per deal, its stage changes in order: (when, to stage, probability then)."""


def _load(session: Session) -> _History:
    history = _History(
        stages={stage.id: stage for stage in session.scalars(select(Stage))},
        deals={deal.id: deal for deal in session.scalars(select(Deal))},
    )
    for deal_id, at, to_stage, probability in session.execute(
        select(
            DealStageChange.deal_id,
            DealStageChange.changed_at,
            DealStageChange.to_stage_id,
            DealStageChange.probability,
        ).order_by(DealStageChange.deal_id, DealStageChange.changed_at, DealStageChange.id)
    ):
        history.moves[deal_id].append((at, to_stage, probability))
    return history


def _learn(history: _History, before: datetime | None) -> dict[uuid.UUID, StageRate]:
    """Each open stage's rate from the deals closed before ``before`` (all closed deals when None)."""
    through: dict[uuid.UUID, list[bool]] = defaultdict(list)
    days: dict[uuid.UUID, list[float]] = defaultdict(list)
    for deal_id, moves in history.moves.items():
        deal = history.deals.get(deal_id)
        if deal is None or deal.status == "open" or deal.closed_at is None:
            continue
        if before is not None and deal.closed_at >= before:
            continue
        visited = set()
        for index, (at, stage_id, _) in enumerate(moves):
            stage = history.stages.get(stage_id)
            if stage is None or stage.kind != "open" or at > deal.closed_at:
                continue
            visited.add(stage_id)
            left = moves[index + 1][0] if index + 1 < len(moves) else deal.closed_at
            days[stage_id].append((left - at).total_seconds() / 86400)
        for stage_id in visited:
            through[stage_id].append(deal.status == "won")
    return {
        stage.id: StageRate(
            stage_id=stage.id,
            name=stage.name,
            pipeline_id=stage.pipeline_id,
            position=stage.position,
            configured=stage.probability,
            closed=len(through[stage.id]),
            won=sum(through[stage.id]),
            median_days=round(statistics.median(days[stage.id]), 1) if days[stage.id] else None,
        )
        for stage in history.stages.values()
        if stage.kind == "open"
    }


def stage_rates(session: Session) -> list[StageRate]:
    """Every open stage's configured and learned rate and time in stage, by pipeline and position."""
    rates = _learn(_load(session), None)
    return sorted(rates.values(), key=lambda rate: (str(rate.pipeline_id), rate.position))


def learned_forecast(session: Session, conditions: list[Any]) -> dict[str, Decimal]:
    """Per currency, over the deals ``conditions`` select (the forecast's window and filters): won
    amounts plus each open deal's amount times its stage's used rate, to the cent."""
    rates = _learn(_load(session), None)
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for deal in session.scalars(select(Deal).where(*conditions)):
        if deal.status == "won":
            totals[deal.currency] += deal.amount
        elif deal.status == "open" and deal.stage_id in rates:
            totals[deal.currency] += deal.amount * rates[deal.stage_id].used / 100
    return {currency: total.quantize(CENT, rounding=ROUND_HALF_UP) for currency, total in totals.items()}


def quarter_before(day: date) -> tuple[date, date]:
    """The last full calendar quarter before ``day``'s: (its first day, the next quarter's first day)."""
    this_quarter = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    start_month = this_quarter.month - 3
    start = date(this_quarter.year - (start_month < 1), (start_month - 1) % 12 + 1, 1)
    return start, this_quarter


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def back_test(session: Session, today: date) -> dict[str, Any]:
    """How the configured probabilities and the learned rates would have forecast the last full quarter.

    Per currency: the deals open at the quarter's start with an expected close date in it, what each
    method predicted they would win, what they won by the quarter's end, and each method's error."""
    start, end = quarter_before(today)
    history = _load(session)
    learned = _learn(history, _midnight(start))
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"deals": 0, "actual": ZERO, "configured": ZERO, "learned": ZERO}
    )
    for deal_id, moves in history.moves.items():
        deal = history.deals.get(deal_id)
        if deal is None or deal.close_date is None or not start <= deal.close_date < end:
            continue
        if deal.closed_at is not None and deal.closed_at < _midnight(start):
            continue
        then = [move for move in moves if move[0] < _midnight(start)]
        if not then:
            continue  # created during the quarter: no forecast made at its start knew it
        _, stage_id, probability = then[-1]
        stage = history.stages.get(stage_id)
        if stage is None or stage.kind != "open":
            continue
        rate = learned.get(stage_id)
        used = rate.used if rate is not None and rate.enough_history else Decimal(probability)
        row = rows[deal.currency]
        row["deals"] += 1
        row["configured"] += deal.amount * probability / 100
        row["learned"] += deal.amount * used / 100
        if deal.status == "won" and deal.closed_at is not None and deal.closed_at < _midnight(end):
            row["actual"] += deal.amount
    report = []
    for currency in sorted(rows):
        row = {k: (v.quantize(CENT, rounding=ROUND_HALF_UP) if isinstance(v, Decimal) else v)
               for k, v in rows[currency].items()}  # fmt: skip
        for method in ("configured", "learned"):
            row[f"{method}_error"] = row[method] - row["actual"]
        row["currency"] = currency
        row["closer"] = (
            "learned"
            if abs(row["learned_error"]) < abs(row["configured_error"])
            else "configured"
            if abs(row["configured_error"]) < abs(row["learned_error"])
            else "same"
        )
        report.append(row)
    learned_stages = sum(1 for rate in learned.values() if rate.enough_history)
    return {"start": start, "end": end, "rows": report, "learned_stages": learned_stages}
