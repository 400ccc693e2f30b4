"""``/api/v1/currency-settings`` and ``/api/v1/exchange-rates``: the workspace's base currency and its
dated exchange rates (reading for every member; changes for owners and admins)."""

from __future__ import annotations

import uuid

from apiflask.fields import File
from flask import g
from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.api.resources import admins_only
from saas.modules.core import currencies
from saas.modules.core.blueprints import api
from saas.modules.core.schemas import list_of
from saas.tenants.routing import current_tenant_session

CODE = {"validate": validate.Length(equal=3), "metadata": {"description": "ISO 4217 code, e.g. EUR"}}


class CurrencySettingsBody(Schema):
    class Meta:
        unknown = RAISE

    base_currency = fields.String(required=True, **CODE)


class ExchangeRateIn(Schema):
    class Meta:
        unknown = RAISE

    currency = fields.String(required=True, **CODE)
    rate = fields.Decimal(
        required=True, as_string=True,
        metadata={"description": "What one unit of `currency` is worth in the base currency."},
    )  # fmt: skip
    valid_on = fields.Date(required=True, metadata={"description": "The first day the rate applies."})


class ExchangeRateOut(Schema):
    id = fields.UUID(required=True)
    base_currency = fields.String(required=True)
    currency = fields.String(required=True)
    rate = fields.Decimal(as_string=True, required=True)
    valid_on = fields.Date(required=True)
    source = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ExchangeRateQuery(Schema):
    class Meta:
        unknown = RAISE

    currency = fields.String(load_default=None, **CODE)


class ReferenceFileIn(Schema):
    file = File(
        required=True, metadata={"description": "An ECB reference-rate CSV (eurofxref or eurofxref-hist)."}
    )


class RefusedLine(Schema):
    line = fields.Integer(required=True)
    reason = fields.String(required=True)


class ReferenceImportOut(Schema):
    stored = fields.Integer(required=True, metadata={"description": "Rates stored (new or corrected)."})
    days = fields.Integer(required=True)
    refused = fields.List(fields.Nested(RefusedLine), required=True)


ExchangeRateList = list_of(ExchangeRateOut)


@api.get("/currency-settings")
@api.auth_required(token_auth)
@api.output(CurrencySettingsBody)
@api.doc(summary="The workspace's base currency")
def get_currency_settings():
    return {"base_currency": currencies.base_currency(current_tenant_session())}


@api.put("/currency-settings")
@api.auth_required(token_auth)
@api.input(CurrencySettingsBody)
@api.output(CurrencySettingsBody)
@api.doc(
    summary="Change the base currency",
    description="Totals are shown in it; rates given for another base stay on file but are not used.",
    responses=[403, 422],
)
@admins_only
def put_currency_settings(json_data):
    return {
        "base_currency": currencies.set_base_currency(current_tenant_session(), json_data["base_currency"])
    }


@api.get("/exchange-rates")
@api.auth_required(token_auth)
@api.input(ExchangeRateQuery, location="query")
@api.output(ExchangeRateList)
@api.doc(summary="List exchange rates", description="The base currency's rates, newest day first.")
def list_exchange_rates(query_data):
    return {"data": currencies.list_rates(current_tenant_session(), query_data["currency"])}


@api.post("/exchange-rates")
@api.auth_required(token_auth)
@api.input(ExchangeRateIn)
@api.output(ExchangeRateOut, status_code=201)
@api.doc(
    summary="Set an exchange rate",
    description="Records the rate of a currency in the base currency from a day on; the same currency and "
    "day again corrects it.",
    responses=[403, 422],
)
@admins_only
def set_exchange_rate(json_data):
    return currencies.set_rate(
        current_tenant_session(), json_data["currency"], json_data["rate"], json_data["valid_on"],
        actor_user_id=g.membership.user_id,
    )  # fmt: skip


@api.post("/exchange-rates/reference-file")
@api.auth_required(token_auth)
@api.input(ReferenceFileIn, location="files")
@api.output(ReferenceImportOut)
@api.doc(
    summary="Import reference rates",
    description="An ECB reference-rate CSV; rates are crossed through the euro for another base currency. "
    "Each refused line is reported with its reason.",
    responses=[403, 413, 422],
)
@admins_only
def import_reference_file(files_data):
    content = files_data["file"].read(currencies.MAX_REFERENCE_BYTES + 1)
    return currencies.import_reference_rates(current_tenant_session(), content, g.membership.user_id)


@api.delete("/exchange-rates/<uuid:rate_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete an exchange rate", responses=[403, 404])
@admins_only
def delete_exchange_rate(rate_id: uuid.UUID):
    currencies.delete_rate(current_tenant_session(), rate_id)
    return ""
