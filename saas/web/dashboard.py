"""The tenant dashboard: every enabled module's cards, each drawn as an SVG chart with its table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.modules.registry import DashboardCard, registry
from saas.modules.switches import enabled_module_keys

# Colours of the series, in order: each at least 3:1 against white (graphics contrast), told apart
# by the legend and the table too, never by colour alone.
PALETTE = ("#0b5cad", "#2f7d4f", "#b35900", "#7048a8", "#a3185a", "#00707a")
# A small view box, so that its 13px labels stay legible when a phone scales the chart down.
WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 30
TICKS = 4


def dashboard_cards(platform: Session, session: TenantSession, tenant_id: str) -> list[DashboardCard]:
    """The cards of the tenant's enabled modules, by their ``order`` then ``key``."""
    enabled = enabled_module_keys(platform, tenant_id)
    cards = [
        card
        for module in registry
        if module.dashboard is not None and module.key in enabled
        for card in module.dashboard(session)
    ]
    return sorted(cards, key=lambda card: (card.order, card.key))


def is_empty(card: DashboardCard) -> bool:
    return not card.labels or not any(value for series in card.series for value in series.values)


def compact(value: float) -> str:
    """An axis figure: ``950``, ``12.5k``, ``3.2M``."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


def nice_top(value: float) -> float:
    """The axis maximum: the value rounded up to a round figure (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^n)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def axis_top(values: list[float]) -> float:
    """The axis maximum; counts (whole numbers) get whole-number ticks."""
    top = max(values)
    if all(float(v).is_integer() for v in values) and top < 5 * TICKS:
        return float(TICKS * max(1, math.ceil(top / TICKS)))
    return nice_top(top)


@dataclass(frozen=True)
class Bar:
    series: int
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True)
class Chart:
    """Geometry of a card's chart in a ``WIDTH`` x ``HEIGHT`` view box (it scales to its box)."""

    width: int
    height: int
    bars: list[Bar]
    lines: list[tuple[int, str]]
    """Per series of a line chart, its colour index and SVG polyline points."""
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    plot: tuple[int, int, int, int]
    """left, top, right, bottom of the plotting area."""


def chart(card: DashboardCard) -> Chart | None:
    """Where every bar or point of the card goes; ``None`` for an empty card."""
    if is_empty(card):
        return None
    top = axis_top([value for series in card.series for value in series.values])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(card.labels)

    def y_of(value: float) -> float:
        return TOP + plot_h - (max(value, 0) / top) * plot_h

    bars: list[Bar] = []
    lines: list[tuple[int, str]] = []
    if card.kind == "line":
        for index, series in enumerate(card.series):
            points = " ".join(
                f"{LEFT + slot * (i + 0.5):.1f},{y_of(v):.1f}" for i, v in enumerate(series.values)
            )
            lines.append((index, points))
    else:
        group = slot * 0.8
        width = group / max(len(card.series), 1)
        for i, label in enumerate(card.labels):
            start = LEFT + slot * i + (slot - group) / 2
            for index, series in enumerate(card.series):
                value = series.values[i]
                y = y_of(value)
                bars.append(Bar(index, start + index * width, y, width * 0.9, TOP + plot_h - y, label, value))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        lines=lines,
        x_labels=[(LEFT + slot * (i + 0.5), label) for i, label in enumerate(card.labels)],
        y_ticks=[(y_of(top * t / TICKS), compact(top * t / TICKS)) for t in range(TICKS + 1)],
        plot=(LEFT, TOP, WIDTH - RIGHT, TOP + plot_h),
    )
