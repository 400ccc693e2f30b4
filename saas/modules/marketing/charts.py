"""The report's chart over time, drawn on the server as SVG geometry (no script on the page)."""

from __future__ import annotations

from typing import Any

SERIES = (("sent", "Sent"), ("opened", "Opened"), ("clicked", "Clicked"), ("unsubscribed", "Unsubscribed"))
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
        groups.append({"label": row["hour"].strftime("%d %b %H:00"), "x": x, "bars": bars})
    return {
        "groups": groups,
        "width": max(len(timeline) * GROUP + 8, 200),
        "height": HEIGHT,
        "top": top,
        "series": SERIES,
        "bar": BAR,
    }
