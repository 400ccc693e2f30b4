"""``/api/v1/reports``: count, sum or average of a record type grouped by one or two fields (JSON, CSV)."""

from __future__ import annotations

from flask import Response
from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.modules.core import reports
from saas.modules.core.api import api
from saas.tenants.routing import current_tenant_session


class ReportQuery(Schema):
    class Meta:
        unknown = RAISE

    entity = fields.String(
        required=True, metadata={"description": "contacts, accounts, leads, deals, tickets"}
    )
    group_by = fields.String(required=True, validate=validate.Length(max=63))
    then_by = fields.String(load_default=None, validate=validate.Length(max=63))
    measure = fields.String(load_default="count", validate=validate.OneOf(reports.MEASURES))
    field = fields.String(load_default=None, validate=validate.Length(max=63))


class ReportRowOut(Schema):
    group = fields.Raw(allow_none=True)
    then = fields.Raw(allow_none=True)
    value = fields.Decimal(as_string=True)


ReportOut = Schema.from_dict({"rows": fields.List(fields.Nested(ReportRowOut))}, name="Report")


@api.get("/reports")
@api.auth_required(token_auth)
@api.input(ReportQuery, location="query")
@api.output(ReportOut)
@api.doc(summary="Run a report", description="Largest groups first, at most 500.", responses=[404, 422])
def run_report(query_data):
    rows = reports.run_report(current_tenant_session(), **query_data)
    return {"rows": [{"group": _json(r.group), "then": _json(r.then), "value": r.value} for r in rows]}


@api.get("/reports.csv")
@api.auth_required(token_auth)
@api.input(ReportQuery, location="query")
@api.doc(summary="Download a report as CSV", responses=[404, 422])
def report_csv(query_data):
    rows = reports.run_report(current_tenant_session(), **query_data)
    body = reports.report_csv(rows, query_data["group_by"], query_data["then_by"], query_data["measure"])
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=report.csv"}
    )


def _json(value):
    return value if value is None or isinstance(value, bool | int | str) else str(value)
