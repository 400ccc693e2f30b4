"""Input and output schemas of the deals side of sales: pipelines and stages, deals and their moves,
tasks, activities logged on deals, and the forecast. The API validates and documents with them; the
pages validate their forms with the same ones."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from saas.modules.core.schemas import (
    ActivityIn,
    ActivityListQuery,
    ActivityOut,
    CleanInput,
    ListQuery,
    _text,
    list_of,
    page_of,
)
from saas.modules.sfa.models import DEAL_STATUSES, STAGE_KINDS

# Circulating currencies of ISO 4217 (the 2025 list): fund, precious-metal and testing codes are left out,
# since a deal is never worth "XAU 12".
ISO_4217_CURRENCIES = frozenset(
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
        "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
        "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
        "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
        "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
        "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
        "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
        "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
        "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
        "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER",
        "ZAR", "ZMW", "ZWG",
    }
)  # fmt: skip
MAX_AMOUNT = Decimal("999999999999.99")  # what numeric(14, 2) holds
CENT = Decimal("0.01")


class WholeNumber(fields.Integer):
    """An integer that refuses a fraction (50.5) instead of silently cutting it to 50."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _whole_cents(value: Decimal) -> None:
    if value != value.quantize(CENT):
        raise ValidationError("Use at most two decimal places.")


def _currency_code(value: str) -> None:
    if value not in ISO_4217_CURRENCIES:
        raise ValidationError("Use a three-letter ISO 4217 currency code such as EUR or USD.")


class CurrencyCode(fields.String):
    """An ISO 4217 code; lower case is accepted and stored upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).upper()


def money(**kwargs) -> fields.Decimal:
    """An amount of money: exact, not negative, whole cents; never a float."""
    return fields.Decimal(
        allow_nan=False,
        as_string=True,
        validate=[validate.Range(min=0, max=MAX_AMOUNT), _whole_cents],
        **kwargs,
    )


def probability(**kwargs) -> WholeNumber:
    return WholeNumber(validate=validate.Range(min=0, max=100), **kwargs)


# Pipelines and stages


class StageIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    probability = probability(required=True, metadata={"description": "Win probability in percent."})
    kind = fields.String(load_default="open", validate=validate.OneOf(STAGE_KINDS))


class NewStageIn(StageIn):
    position = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "Where to insert it (0 = first); at the end when left out."},
    )


class PipelineIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    is_default = fields.Boolean(load_default=None, allow_none=True)
    stages = fields.List(
        fields.Nested(StageIn),
        load_default=None,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "In order; the standard sales stages when left out."},
    )


class PipelineChangeIn(CleanInput):
    name = fields.String(validate=validate.Length(min=1, max=100))
    is_default = fields.Boolean(metadata={"description": "Only `true`: choose another default to change it."})


class StageOrderIn(CleanInput):
    stage_ids = fields.List(fields.UUID(), required=True, metadata={"description": "Every stage, in order."})


class StageOut(Schema):
    id = fields.UUID()
    pipeline_id = fields.UUID()
    name = fields.String()
    position = fields.Integer()
    probability = fields.Integer()
    kind = fields.String()


class PipelineOut(Schema):
    id = fields.UUID()
    name = fields.String()
    is_default = fields.Boolean()
    position = fields.Integer()
    stages = fields.List(fields.Nested(StageOut))


PipelineList = list_of(PipelineOut)


# Deals


class DealIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    custom_fields = fields.Dict(
        keys=fields.String(), metadata={"description": "Values of the workspace's custom fields, by key."}
    )
    amount = money(load_default=Decimal("0.00"))
    currency = CurrencyCode(load_default="EUR", validate=_currency_code)
    close_date = fields.Date(allow_none=True)
    pipeline_id = fields.UUID(
        allow_none=True, metadata={"description": "The default pipeline unless a stage is given."}
    )
    stage_id = fields.UUID(
        allow_none=True, metadata={"description": "The pipeline's first open stage when left out."}
    )
    lost_reason = _text(200, metadata={"description": "Required when the stage is a lost stage."})
    owner_user_id = fields.UUID(
        allow_none=True, metadata={"description": "A member's user id; the creator when left out."}
    )
    account_id = fields.UUID(allow_none=True)
    contact_ids = fields.List(fields.UUID(), validate=validate.Length(max=50))
    notes = _text(10_000)
    amount_follows_quote = fields.Boolean(
        metadata={"description": "Accepting one of the deal's quotes sets its amount and currency (default)."}
    )


class DealOut(Schema):
    id = fields.UUID()
    custom_fields = fields.Dict(metadata={"description": "Values of the workspace's custom fields, by key."})
    name = fields.String()
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    close_date = fields.Date(allow_none=True)
    pipeline_id = fields.UUID()
    stage_id = fields.UUID()
    stage_name = fields.Function(lambda deal: deal.stage.name)
    probability = fields.Function(lambda deal: deal.stage.probability)
    status = fields.String()
    lost_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    stage_changed_at = fields.DateTime()
    owner_user_id = fields.UUID(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    contact_ids = fields.List(fields.UUID())
    notes = fields.String(allow_none=True)
    amount_follows_quote = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DealFilters(Schema):
    """Filters of the deal list, on the page and (with ``q``, ``cursor``, ``limit``) in the API."""

    class Meta:
        unknown = RAISE

    pipeline_id = fields.UUID(load_default=None)
    stage_id = fields.UUID(load_default=None)
    owner_user_id = fields.UUID(load_default=None)
    account_id = fields.UUID(load_default=None)
    contact_id = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATUSES))
    close_from = fields.Date(load_default=None, metadata={"description": "Close date on or after."})
    close_to = fields.Date(load_default=None, metadata={"description": "Close date on or before."})

    @validates_schema
    def _range_in_order(self, data, **kwargs):
        if data.get("close_from") and data.get("close_to") and data["close_from"] > data["close_to"]:
            raise ValidationError("Must not be before close_from.", "close_to")


class DealListQuery(ListQuery, DealFilters):
    pass


DealPage = page_of(DealOut)


class MoveIn(CleanInput):
    stage_id = fields.UUID(required=True)
    lost_reason = _text(200, metadata={"description": "Required when moving to a lost stage."})


class StageChangeOut(Schema):
    id = fields.UUID()
    from_stage_id = fields.UUID(allow_none=True)
    to_stage_id = fields.UUID(allow_none=True)
    probability = fields.Integer()
    changed_by_user_id = fields.UUID(allow_none=True)
    changed_at = fields.DateTime()


StageHistory = list_of(StageChangeOut, name="StageHistory")


# Tasks

TASK_STATUSES = ("open", "done")


class TaskIn(CleanInput):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    notes = _text(10_000)
    due_at = fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    assignee_user_id = fields.UUID(
        allow_none=True, metadata={"description": "A member's user id; the creator when left out."}
    )
    status = fields.String(load_default="open", validate=validate.OneOf(TASK_STATUSES))
    contact_id = fields.UUID(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    deal_id = fields.UUID(allow_none=True)


class TaskOut(Schema):
    id = fields.UUID()
    title = fields.String()
    notes = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    assignee_user_id = fields.UUID(allow_none=True)
    status = fields.String()
    done_at = fields.DateTime(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    deal_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TaskFilters(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default=None, validate=validate.OneOf(TASK_STATUSES))
    assignee_user_id = fields.UUID(load_default=None)
    contact_id = fields.UUID(load_default=None)
    account_id = fields.UUID(load_default=None)
    deal_id = fields.UUID(load_default=None)
    due_before = fields.AwareDateTime(load_default=None, default_timezone=UTC)


class TaskListQuery(ListQuery, TaskFilters):
    pass


TaskPage = page_of(TaskOut)


# Activities, as the sales API takes them: ``deal_id`` puts one on a deal's timeline.


class DealActivityIn(ActivityIn):
    deal_id = fields.UUID(allow_none=True)


class DealActivityOut(ActivityOut):
    deal_id = fields.Function(lambda entry: entry.subject_id if entry.subject_type == "deal" else None)


class DealActivityListQuery(ActivityListQuery):
    deal_id = fields.UUID(load_default=None, metadata={"description": "Entries about this deal."})


DealActivityPage = page_of(DealActivityOut)


# Forecast


class ForecastQuery(Schema):
    class Meta:
        unknown = RAISE

    start = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use a month as YYYY-MM."),
        metadata={"description": "First month (YYYY-MM); this month when left out."},
    )
    months = WholeNumber(load_default=6, validate=validate.Range(min=1, max=24))
    pipeline_id = fields.UUID(load_default=None, metadata={"description": "All pipelines when left out."})
    owner_user_id = fields.UUID(load_default=None)
    threshold = probability(
        load_default=75, metadata={"description": "Open deals at or above this probability are committed."}
    )


class ForecastFigures(Schema):
    deals = fields.Integer()
    won = fields.Decimal(as_string=True)
    weighted = fields.Decimal(as_string=True)
    committed = fields.Decimal(as_string=True)
    best_case = fields.Decimal(as_string=True)


class ForecastMonth(ForecastFigures):
    month = fields.String()


class ForecastOwner(ForecastFigures):
    owner_user_id = fields.UUID(allow_none=True)


class ForecastCell(ForecastFigures):
    month = fields.String()
    owner_user_id = fields.UUID(allow_none=True)


class ForecastCurrency(Schema):
    currency = fields.String()
    totals = fields.Nested(ForecastFigures)
    by_month = fields.List(fields.Nested(ForecastMonth))
    by_owner = fields.List(fields.Nested(ForecastOwner))
    cells = fields.List(fields.Nested(ForecastCell))


class RateUsed(Schema):
    currency = fields.String()
    rate = fields.Decimal(as_string=True, metadata={"description": "One unit's worth in the base currency."})
    valid_on = fields.String(metadata={"description": "The day the rate applies from."})
    source = fields.String()


class ForecastInBaseCurrency(Schema):
    base_currency = fields.String()
    rates_as_of = fields.String(metadata={"description": "The latest rate on or before this day is used."})
    rates_used = fields.List(fields.Nested(RateUsed))
    not_converted = fields.List(
        fields.String(), metadata={"description": "Currencies without a rate: left out, never guessed."}
    )
    totals = fields.Nested(ForecastFigures)
    by_month = fields.List(fields.Nested(ForecastMonth))


class ForecastOut(Schema):
    months = fields.List(fields.String())
    undated_deals = fields.Integer(metadata={"description": "Open or won deals without a close date."})
    threshold = fields.Integer()
    pipeline_id = fields.UUID(allow_none=True)
    owner_user_id = fields.UUID(allow_none=True)
    currencies = fields.List(fields.Nested(ForecastCurrency))
    in_base_currency = fields.Nested(
        ForecastInBaseCurrency, metadata={"description": "Every currency's figures in the base currency."}
    )
