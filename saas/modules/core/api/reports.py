"""``/api/v1/reports``: count, sum or average of a record type grouped by one or two fields (JSON, CSV), over
the records ``f_<field>`` filters keep; ``/api/v1/saved-reports``: reports kept for the workspace."""

from __future__ import annotations

import uuid

from flask import Response, g
from marshmallow import RAISE, Schema, fields, pre_load, validate

from saas.api import token_auth
from saas.modules.core import reports, saved_reports
from saas.modules.core.blueprints import api
from saas.modules.core.schemas import list_of
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session


class ReportQuery(Schema):
    class Meta:
        unknown = RAISE

    entity = fields.String(
        required=True,
        metadata={"description": "A record type's table (contacts, accounts, leads, deals, tickets, a custom "
                  "object's) or a module's report source (marketing.attribution, sfa.customers)"},
    )  # fmt: skip
    group_by = fields.String(required=True, validate=validate.Length(max=63))
    then_by = fields.String(load_default=None, validate=validate.Length(max=63))
    measure = fields.String(load_default="count", validate=validate.OneOf(reports.MEASURES))
    field = fields.String(load_default=None, validate=validate.Length(max=63))
    filters = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.Length(max=200)), load_default=None,
        metadata={"description": "Only records whose field equals a value, given as `f_<field>=<value>` "
                  "parameters (`f_status=open`, `f_cf_region=north`)."},
    )  # fmt: skip

    @pre_load
    def _filters(self, data, **kwargs):
        filters = reports.filters_from(dict(data))
        plain = {name: data[name] for name in data if not name.startswith(reports.FILTER_PREFIX)}
        return {**plain, "filters": filters} if filters else plain


class ReportRowOut(Schema):
    group = fields.Raw(allow_none=True, metadata={"description": "The field's value (a record's id)"})
    group_label = fields.String(
        allow_none=True, metadata={"description": "What a person reads for it (the record's name)"}
    )
    then = fields.Raw(allow_none=True)
    then_label = fields.String(allow_none=True)
    value = fields.Decimal(as_string=True)


class RateUsedOut(Schema):
    currency = fields.String()
    rate = fields.Decimal(as_string=True, metadata={"description": "One unit's worth in the base currency"})
    valid_on = fields.String(metadata={"description": "The day the rate applies from (ISO date)"})
    source = fields.String()


class CurrencyConversionOut(Schema):
    base_currency = fields.String(metadata={"description": "The currency every value is in"})
    rates_as_of = fields.String(metadata={"description": "Each currency's latest rate on or before this day"})
    rates_used = fields.List(fields.Nested(RateUsedOut))
    not_converted = fields.List(
        fields.String(), metadata={"description": "Currencies without a rate: their records are left out"}
    )


ReportOut = Schema.from_dict(
    {
        "rows": fields.List(fields.Nested(ReportRowOut)),
        "conversion": fields.Nested(
            CurrencyConversionOut,
            metadata={
                "description": "Present when the report sums or averages money (a deal's amount): values "
                "are in the workspace's base currency, each record converted at its currency's rate."
            },
        ),
    },
    name="Report",
)


@api.get("/reports")
@api.auth_required(token_auth)
@api.input(ReportQuery, location="query")
@api.output(ReportOut)
@api.doc(summary="Run a report", description="Largest groups first, at most 500.", responses=[404, 422])
def run_report(query_data):
    session = current_tenant_session()
    query = query_data
    converter = reports.money_converter(session, query["entity"], query["measure"], query["field"])
    rows = reports.run_report(session, **query_data, converter=converter)
    conversion = {"conversion": converter.report()} if converter is not None else {}
    return conversion | {
        "rows": [
            {
                "group": _json(r.group),
                "group_label": r.group_label,
                "then": _json(r.then),
                "then_label": r.then_label,
                "value": r.value,
            }
            for r in rows
        ]
    }


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


class SavedReportIn(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    params = fields.Dict(
        required=True,
        metadata={
            "description": "The report: entity, group_by, then_by, measure, field, filters (an object)."
        },
    )


class SavedReportChange(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(min=1, max=100))
    pinned = fields.Boolean(metadata={"description": "Shown on the workspace's dashboard (at most 6)."})


class SavedReportOut(Schema):
    id = fields.UUID()
    name = fields.String()
    params = fields.Dict()
    pinned = fields.Boolean()
    owner_user_id = fields.UUID()
    created_at = fields.DateTime()


@api.get("/saved-reports")
@api.auth_required(token_auth)
@api.output(list_of(SavedReportOut))
@api.doc(summary="List the workspace's saved reports")
def list_saved_reports():
    return {"data": saved_reports.listed(current_tenant_session())}


@api.post("/saved-reports")
@api.auth_required(token_auth)
@api.input(SavedReportIn)
@api.output(SavedReportOut, status_code=201)
@api.doc(
    summary="Save a report for the workspace", description="Refused unless the report runs.", responses=[422]
)
def create_saved_report(json_data):
    return saved_reports.create(
        current_tenant_session(), g.membership.user_id, json_data["name"], json_data["params"]
    )


@api.patch("/saved-reports/<uuid:saved_report_id>")
@api.auth_required(token_auth)
@api.input(SavedReportChange)
@api.output(SavedReportOut)
@api.doc(summary="Rename, pin or unpin a saved report", description="Its author, or an owner/admin.",
         responses=[403, 404, 422])  # fmt: skip
def change_saved_report(saved_report_id: uuid.UUID, json_data):
    return saved_reports.change(
        current_tenant_session(), g.membership.user_id, saved_report_id, json_data,
        is_admin=g.membership.role in ADMIN_ROLES,
    )  # fmt: skip


@api.delete("/saved-reports/<uuid:saved_report_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a saved report", description="Its author, or an owner/admin.", responses=[403, 404])
def delete_saved_report(saved_report_id: uuid.UUID):
    saved_reports.delete(
        current_tenant_session(),
        g.membership.user_id,
        saved_report_id,
        is_admin=g.membership.role in ADMIN_ROLES,
    )
    return ""


def _json(value):
    return value if value is None or isinstance(value, bool | int | str) else str(value)
