"""The report page ``/t/<slug>/reports``: choose a record type, grouping and measure; see a chart and a table
of the same figures, and download them as CSV."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from saas.db import db
from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.core import reports, saved_reports
from saas.modules.core.blueprints import pages
from saas.modules.core.models import SavedReport
from saas.modules.registry import DashboardCard, registry
from saas.modules.settings import ADMIN_ROLES
from saas.modules.switches import enabled_module_keys
from saas.tenants.routing import current_tenant_session

FILTER_ROWS = 3
"""Empty filter rows the form offers besides the report's own filters."""


def _params(args: MultiDict | None = None) -> dict[str, Any]:
    """The report's arguments from the page's query string (or ``args``)."""
    args = request.args if args is None else args
    # Filters come as f_<field>=<value> (links, saved reports) or as the form's field/value pairs.
    pairs = zip(args.getlist("filter_field"), args.getlist("filter_value"), strict=False)
    filters = reports.filters_from(args.to_dict()) | {name: value for name, value in pairs if name and value}
    return {
        "entity": args.get("entity") or "contacts",
        "group_by": args.get("group_by") or "",
        "then_by": args.get("then_by") or None,
        "measure": args.get("measure") or "count",
        "field": args.get("field") or None,
        "filters": filters,
    }


def _arguments(params: dict[str, Any]) -> dict[str, str]:
    """The report's URL arguments in their one canonical form (filters as f_<field>)."""
    plain = {name: value for name, value in params.items() if name != "filters" and value}
    return plain | {f"{reports.FILTER_PREFIX}{name}": value for name, value in params["filters"].items()}


def _card(
    params: dict[str, Any], rows: list[reports.ReportRow], groupable: dict[str, str], records: str
) -> DashboardCard:
    """The report as a chart card, titled with the fields' labels in the reader's language."""
    labels, series = reports.chart_series(rows, params["measure"], params["then_by"])
    title = gettext(
        "%(measure)s of %(records)s by %(field)s",
        measure=gettext(reports.MEASURE_LABELS.get(params["measure"], "Count")),
        records=records,
        field=groupable.get(params["group_by"], params["group_by"]),
    )
    return DashboardCard(key="core.report", title=title, labels=labels, series=series)


@pages.get("/reports")
def reports_page():
    from saas.web.dashboard import PALETTE, chart

    params = _params()
    session = current_tenant_session()
    # Every record type of the workspace's enabled modules, its custom objects included, by table; then
    # the report sources of those modules (attribution, customers), by key.
    enabled = enabled_module_keys(db.session, g.tenant.id)
    entities = {t.table: gettext(t.plural) for t in registry.record_types(session, enabled)}
    entities |= {source.key: gettext(source.label) for source in registry.report_sources(enabled)}
    entity = params["entity"] if params["entity"] in entities else "contacts"
    groupable, summable = (
        {name: translate(label) for name, label in fields.items()}
        for fields in reports.fields_of(session, entity)
    )
    rows, message, errors, status, named = None, None, {}, 200, {}
    converter = reports.money_converter(session, entity, params["measure"], params["field"])
    if params["group_by"]:
        try:
            rows = reports.run_report(session, **params, converter=converter)
        except ValidationError as error:
            message, errors, status = error.detail, error.errors, 422
        else:
            named = reports.filter_labels(session, entity, params["filters"])
    card = _card(params, rows, groupable, entities[entity]) if rows else None
    return render_template(
        "core/reports.html", params=params, entities=entities, groupable=groupable,
        summable=summable, measures=reports.MEASURES, measure_labels=reports.MEASURE_LABELS, rows=rows,
        card=card,
        geometry=chart(card) if card else None, palette=PALETTE, message=message, errors=errors,
        arguments=_arguments(params), filter_rows=FILTER_ROWS, saved=saved_reports.listed(session),
        saved_arguments=saved_reports.page_arguments, may_change=_may_change, filter_labels=named,
        conversion=converter.explain() if converter is not None and rows else None,
    ), status  # fmt: skip


def _may_change(report: SavedReport) -> bool:
    return report.owner_user_id == g.membership.user_id or g.membership.role in ADMIN_ROLES


def _back(message: str):
    flash(message)
    return redirect(url_for("core.reports_page", **dict(parse_qsl(request.form.get("query", "")))), 303)


@pages.post("/reports/saved")
def save_report():
    params = _params(MultiDict(parse_qsl(request.form.get("query", ""))))
    try:
        report = saved_reports.create(
            current_tenant_session(), g.membership.user_id, request.form.get("name", ""), params
        )
    except ValidationError as error:
        return _back(gettext("The report was not saved. %(reason)s", reason=translate(error.detail)))
    flash(gettext("Report “%(name)s” saved.", name=report.name))
    return redirect(url_for("core.reports_page", **saved_reports.page_arguments(report)), 303)


@pages.post("/reports/saved/<uuid:saved_report_id>/pin")
def pin_report(saved_report_id: uuid.UUID):
    pinned = request.form.get("pinned") == "1"
    try:
        report = saved_reports.change(
            current_tenant_session(), g.membership.user_id, saved_report_id, {"pinned": pinned},
            is_admin=g.membership.role in ADMIN_ROLES,
        )  # fmt: skip
    except ValidationError as error:
        return _back(translate(error.detail))
    if pinned:
        return _back(gettext("“%(name)s” pinned to the dashboard.", name=report.name))
    return _back(gettext("“%(name)s” taken off the dashboard.", name=report.name))


@pages.post("/reports/saved/<uuid:saved_report_id>/delete")
def delete_report(saved_report_id: uuid.UUID):
    report = saved_reports.delete(
        current_tenant_session(),
        g.membership.user_id,
        saved_report_id,
        is_admin=g.membership.role in ADMIN_ROLES,
    )
    return _back(gettext("Report “%(name)s” deleted.", name=report.name))


@pages.get("/reports.csv")
def report_csv():
    params = _params()
    rows = reports.run_report(current_tenant_session(), **params)
    body = reports.report_csv(rows, params["group_by"], params["then_by"], params["measure"])
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=report.csv"}
    )
