"""The report's chart over time, drawn on the server as SVG geometry (no script on the page)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from babel.dates import format_datetime
from flask_babel import get_locale

from saas.i18n import N_

# Labels translated where shown (``{{ _(label) }}``).
SERIES = (
    ("sent", N_("Sent")),
    ("opened", N_("Opened")),
    ("clicked", N_("Clicked")),
    ("unsubscribed", N_("Unsubscribed")),
)
HEIGHT = 160
BAR = 10
GROUP = BAR * len(SERIES) + 14


def report_chart(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per hour and series, scaled to the tallest; the page's table holds the same figures."""
    top = max([row[key] for row in timeline for key, _ in SERIES] + [1])
    groups = []
    for index, row in enumerate(timeline):
        x = index * GROUP + 4
        bars = []
        for offset, (key, label) in enumerate(SERIES):
            height = HEIGHT * row[key] / top
            bars.append(
                {
                    "series": key,
                    "label": label,
                    "value": row[key],
                    "x": x + offset * BAR,
                    "y": HEIGHT - height,
                    "height": height,
                }
            )
        # The reader's month names; UTC like the table under the chart.
        label = format_datetime(row["hour"], "d MMM HH:mm", tzinfo=UTC, locale=get_locale() or "en")
        groups.append({"label": label, "x": x, "bars": bars})
    return {
        "groups": groups,
        "width": max(len(timeline) * GROUP + 8, 200),
        "height": HEIGHT,
        "top": top,
        "series": SERIES,
        "bar": BAR,
    }
