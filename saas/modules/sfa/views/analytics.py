"""Analytics pages: /t/<slug>/analytics/customers (RFM, lifetime value, churn risk per account) and
/t/<slug>/analytics/cohorts (deals per month by lead source, as a table and a CSV download)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext

from saas.errors import ValidationError
from saas.modules.core.views.records import load_form
from saas.modules.sfa import analytics
from saas.modules.sfa.analytics_schemas import CohortQuery, CustomerAnalyticsQuery
from saas.modules.sfa.blueprints import pages
from saas.spreadsheet import csv_line
from saas.tenants.routing import current_tenant_session

PAGE_ROWS = 500
"""Customers listed on the page, by revenue; the API answers them all."""


def _query(schema: type, detail: str) -> tuple[dict[str, Any], str | None, dict[str, list[str]]]:
    """The page's settings from its query string (empty inputs mean "the default"); wrong ones fall back
    to the defaults, with the form's message."""
    fields = schema().fields
    given = {name: value for name, value in request.args.items() if name in fields and value != ""}
    try:
        return load_form(schema(), given, detail), None, {}
    except ValidationError as error:
        return schema().load({}), error.detail, error.errors


@pages.route("/analytics/customers")
def customer_analytics_page():
    query, message, errors = _query(CustomerAnalyticsQuery, gettext("Please correct the date."))
    result = analytics.customer_analytics(current_tenant_session(), query["on"] or _today())
    shown = result.in_segment(query["segment"])
    return render_template(
        "sfa/customer_analytics.html",
        result=result,
        shown=shown[:PAGE_ROWS],
        hidden=max(0, len(shown) - PAGE_ROWS),
        segments=analytics.SEGMENTS,
        lifetime=analytics.EXPECTED_LIFETIME_YEARS,
        gap_factor=analytics.CHURN_GAP_FACTOR,
        unopened=analytics.UNOPENED_EMAILS,
        args=request.args,
        message=message,
        errors=errors,
    ), 422 if message else 200


def _cohorts() -> tuple[dict[str, Any], str | None, dict[str, list[str]]]:
    query, message, errors = _query(CohortQuery, gettext("Please correct the report's settings."))
    start = analytics.month_start(query["start"], _today())
    return analytics.cohort_report(current_tenant_session(), start, query["months"]), message, errors


@pages.route("/analytics/cohorts")
def cohorts_page():
    report, message, errors = _cohorts()
    return render_template(
        "sfa/cohorts.html", report=report, args=request.args, message=message, errors=errors
    ), 422 if message else 200


@pages.route("/analytics/cohorts.csv")
def cohorts_csv():
    report, message, _ = _cohorts()
    if message:
        raise ValidationError(message)
    no_source = gettext("No lead source")
    header = [gettext("Month"), gettext("Lead source"), gettext("Created"), gettext("Won"), gettext("Lost"),
              gettext("Of those created: won"), gettext("Of those created: lost"),
              gettext("Of those created: open"), gettext("Win rate (%(unit)s)", unit="%")]  # fmt: skip
    lines = [csv_line(header)]
    for row in report["rows"]:
        rate = "" if row.cohort_win_rate is None else row.cohort_win_rate
        lines.append(csv_line([row.month, row.source or no_source, row.created, row.won, row.lost,
                               row.cohort_won, row.cohort_lost, row.cohort_open, rate]))  # fmt: skip
    disposition = "attachment; filename=deals-by-month.csv"
    return Response("".join(lines), mimetype="text/csv", headers={"Content-Disposition": disposition})


def _today():
    return datetime.now(UTC).date()
