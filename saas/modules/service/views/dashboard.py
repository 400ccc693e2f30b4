"""The service dashboard: volumes, SLA health and the last days' chart."""

from __future__ import annotations

from typing import Any

from flask import render_template

from saas.modules.service.blueprints import pages
from saas.modules.service.figures import service_figures
from saas.modules.service.views.tickets import _priority_names
from saas.tenants.routing import current_tenant_session

CHART_HEIGHT = 160
BAR = 10


def bar_chart(days: list) -> dict[str, Any]:
    """Geometry of the per-day chart: created, solved and solved-late bars, scaled to the largest."""
    top = max([max(d.created, d.solved) for d in days] + [1])
    group = BAR * 3 + 8
    bars = []
    for index, day in enumerate(days):
        x = 8 + index * group
        values = (("created", day.created), ("solved", day.solved), ("breached", day.breached))
        for offset, (series, value) in enumerate(values):
            height = value / top * CHART_HEIGHT
            bar = {"series": series, "x": x + offset * BAR, "y": CHART_HEIGHT - height, "height": height}
            bars.append({**bar, "value": value, "day": day.day})
    return {"bars": bars, "width": 8 + len(days) * group, "height": CHART_HEIGHT, "top": top, "group": group}


@pages.get("/service")
def dashboard():
    figures = service_figures(current_tenant_session())
    return render_template(
        "service/dashboard.html",
        figures=figures,
        chart=bar_chart(figures["days"]),
        priority_names=_priority_names(),
    )
