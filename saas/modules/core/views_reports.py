"""The report page ``/t/<slug>/reports``: choose a record type, grouping and measure; see a chart and a table
of the same figures, and download them as CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from saas.errors import ValidationError
from saas.modules.core import custom_fields, reports
from saas.modules.core.views import pages
from saas.modules.registry import DashboardCard, Series
from saas.tenants.routing import current_tenant_session


def _params() -> dict[str, Any]:
    args = request.args
    return {
        "entity": args.get("entity") or "contacts",
        "group_by": args.get("group_by") or "",
        "then_by": args.get("then_by") or None,
        "measure": args.get("measure") or "count",
        "field": args.get("field") or None,
    }


def _card(params: dict[str, Any], rows: list[reports.ReportRow]) -> DashboardCard:
    """The report as a chart card: one bar group per group value, one series per second grouping."""
    labels = tuple(dict.fromkeys(str(r.group if r.group is not None else "—") for r in rows))
    thens = tuple(dict.fromkeys(str(r.then if r.then is not None else "—") for r in rows)) or ("",)
    values = {
        (str(r.group if r.group is not None else "—"), str(r.then if r.then is not None else "—")): r
        for r in rows
    }
    series = tuple(
        Series(
            name=then or params["measure"],
            values=tuple(
                float(values[(label, then)].value) if (label, then) in values else 0.0 for label in labels
            ),
        )
        for then in (thens if params["then_by"] else ("—",))
    )
    return DashboardCard(
        key="core.report", title=f"{params['measure']} of {params['entity']} by {params['group_by']}",
        labels=labels, series=series,
    )  # fmt: skip


@pages.get("/reports")
def reports_page():
    from saas.web.dashboard import PALETTE, chart

    params = _params()
    session = current_tenant_session()
    entity = params["entity"] if params["entity"] in custom_fields.entities() else "contacts"
    groupable, summable = reports.fields_of(session, entity)
    rows, message, errors, status = None, None, {}, 200
    if params["group_by"]:
        try:
            rows = reports.run_report(session, **params)
        except ValidationError as error:
            message, errors, status = error.detail, error.errors, 422
    card = _card(params, rows) if rows else None
    return render_template(
        "core/reports.html", params=params, entities=custom_fields.entities(), groupable=groupable,
        summable=summable, measures=reports.MEASURES, rows=rows, card=card,
        geometry=chart(card) if card else None, palette=PALETTE, message=message, errors=errors,
    ), status  # fmt: skip


@pages.get("/reports.csv")
def report_csv():
    params = _params()
    rows = reports.run_report(current_tenant_session(), **params)
    body = reports.report_csv(rows, params["group_by"], params["then_by"], params["measure"])
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=report.csv"}
    )
