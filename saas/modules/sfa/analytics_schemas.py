"""Query and answer schemas of customer analytics and the deals-per-month report; the API documents and
validates with them, the pages validate their query strings with the same ones."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.i18n import N_
from saas.modules.sfa.analytics import SEGMENTS
from saas.modules.sfa.deal_schemas import RateUsed, WholeNumber

# Messages marked for extraction: the pages show them through ``translate``, the API in English.
# Years 1900 to 2999: the window's end stays a date Python can hold.
MONTH = validate.Regexp(r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", error=N_("Use a month as YYYY-MM."))


class CustomerAnalyticsQuery(Schema):
    class Meta:
        unknown = RAISE

    on = fields.Date(
        load_default=None,
        metadata={"description": "Figures as of this day (YYYY-MM-DD): later won deals are left out; "
                  "today when left out."},
    )  # fmt: skip
    segment = fields.String(
        load_default=None,
        validate=validate.OneOf([segment.key for segment in SEGMENTS]),
        metadata={"description": "Only the customers of this RFM segment (scores still rank everyone)."},
    )


class CohortQuery(Schema):
    class Meta:
        unknown = RAISE

    start = fields.String(
        load_default=None,
        validate=MONTH,
        metadata={"description": "First month (YYYY-MM, UTC); eleven months ago when left out."},
    )
    months = WholeNumber(
        load_default=12, validate=validate.Range(min=1, max=36, error=N_("Give a whole number from 1 to 36."))
    )


class ChurnReasonOut(Schema):
    kind = fields.String(
        metadata={"description": "`stopped_buying`: no won deal for more than twice the account's usual "
                  "interval (the median gap between its won deals). `stopped_opening`: none of the last "
                  "three campaign emails to its contacts was opened, though an earlier one was."}
    )  # fmt: skip
    days_since_last_won = fields.Integer(allow_none=True)
    usual_interval_days = fields.Decimal(as_string=True, allow_none=True)
    unopened_emails = fields.Integer(allow_none=True)
    last_opened_on = fields.Date(allow_none=True)


class CustomerOut(Schema):
    account_id = fields.UUID()
    account_name = fields.String()
    first_won_on = fields.Date()
    last_won_on = fields.Date()
    recency_days = fields.Integer(metadata={"description": "Days since the last won deal."})
    frequency = fields.Integer(metadata={"description": "Won deals."})
    monetary = fields.Decimal(as_string=True, metadata={"description": "Won revenue in the base currency."})
    unconverted_deals = fields.Integer(
        metadata={"description": "Won deals left out of `monetary`: no rate for their currency."}
    )
    r = fields.Integer(metadata={"description": "Recency score 1..5 (5: most recent quintile)."})
    f = fields.Integer(metadata={"description": "Frequency score 1..5."})
    m = fields.Integer(metadata={"description": "Monetary score 1..5."})
    rfm = fields.String(metadata={"description": "The three scores as one code, such as `545`."})
    segment = fields.Function(lambda customer: customer.segment.key)
    historical_clv = fields.Decimal(as_string=True, metadata={"description": "Equal to `monetary`."})
    average_order_value = fields.Decimal(as_string=True, allow_none=True)
    purchases_per_year = fields.Decimal(as_string=True)
    predicted_clv = fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={"description": "average_order_value x purchases_per_year x expected_lifetime_years."},
    )
    usual_interval_days = fields.Decimal(as_string=True, allow_none=True)
    churn_reasons = fields.List(fields.Nested(ChurnReasonOut))


class RfmSegmentOut(Schema):
    key = fields.String()
    name = fields.String()
    recency_scores = fields.List(fields.Integer(), attribute="recency")
    frequency_scores = fields.List(fields.Integer(), attribute="frequency")
    customers = fields.Integer()


class CustomerAnalyticsOut(Schema):
    as_of = fields.Date()
    base_currency = fields.String()
    rates_used = fields.List(fields.Nested(RateUsed))
    not_converted = fields.List(
        fields.String(), metadata={"description": "Currencies without a rate: left out, never guessed."}
    )
    expected_lifetime_years = fields.Integer()
    opens_checked = fields.Boolean(
        metadata={"description": "Whether campaign email opens were looked at (marketing is on)."}
    )
    segments = fields.List(fields.Nested(RfmSegmentOut))
    customers = fields.List(fields.Nested(CustomerOut))


class CohortRowOut(Schema):
    month = fields.String()
    source = fields.String(
        allow_none=True, metadata={"description": "The source of the lead the deal came from; null: none."}
    )
    created = fields.Integer()
    won = fields.Integer(metadata={"description": "Deals won in the month, whenever created."})
    lost = fields.Integer()
    cohort_won = fields.Integer(metadata={"description": "Of the deals created in the month: won now."})
    cohort_lost = fields.Integer()
    cohort_open = fields.Integer()
    cohort_win_rate = fields.Integer(allow_none=True, metadata={"description": "Won of decided, in %."})


class CohortsOut(Schema):
    months = fields.List(fields.String())
    rows = fields.List(fields.Nested(CohortRowOut))
