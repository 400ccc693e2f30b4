"""Input and output schemas of leads and of their conversion; the API documents and validates with
them, the pages and the CSV import validate with the same ones."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.modules.core.schemas import (
    CleanInput,
    ContactIn,
    ContactOut,
    ListQuery,
    MatchOut,
    _text,
    page_of,
    score_floor,
)
from saas.modules.sfa.models import LEAD_STATUSES


class LeadIn(ContactIn):
    """A contact's fields but its account, and the lead's own."""

    class Meta(ContactIn.Meta):
        exclude = ("account_id",)

    company = _text(200)
    # All statuses are accepted here so that a converted lead's form can be saved unchanged;
    # the service refuses moving a lead into or out of "converted".
    status = fields.String(load_default="new", validate=validate.OneOf(LEAD_STATUSES))
    source = _text(100)
    owner_user_id = fields.UUID(
        allow_none=True, metadata={"description": "A member; the creator if left out."}
    )
    disqualified_reason = _text(200)
    noun = "lead"


class LeadOut(ContactOut):
    class Meta:
        # A lead's factors are its predicted score's (shown on its page), not a contact's rule points.
        exclude = ("account_id", "score_factors")

    company = fields.String(allow_none=True)
    status = fields.String()
    source = fields.String(allow_none=True)
    owner_user_id = fields.UUID(allow_none=True)
    disqualified_reason = fields.String(allow_none=True)
    converted_at = fields.DateTime(allow_none=True)
    converted_contact_id = fields.UUID(allow_none=True)
    converted_account_id = fields.UUID(allow_none=True)
    converted_deal_id = fields.UUID(allow_none=True)
    rule_score = fields.Integer(
        allow_none=True, metadata={"description": "Rule points 0..100 from the daily scoring; null: not yet."}
    )
    predicted_score = fields.Integer(
        allow_none=True,
        metadata={"description": "Predicted chance (%) of converting; null: the workspace has too few "
                  "decided leads for a model, or not scored yet."},
    )  # fmt: skip
    matching_records = fields.List(
        fields.Nested(MatchOut),
        metadata={
            "description": "Contacts likely to be this lead's person (on a single lead's answers).",
            "sometimes_answered": True,
        },
    )


class LeadListQuery(ListQuery):
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES), load_default=None)
    owner = fields.UUID(load_default=None, metadata={"description": "A member's user id."})
    min_rule_score = score_floor(metadata={"description": "Leads with at least these rule points."})
    min_predicted_score = score_floor(
        metadata={"description": "Leads with at least this predicted chance (%) of converting."}
    )


class LeadFilters(Schema):
    """The leads page's filters (the API's are in :class:`LeadListQuery`)."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(LEAD_STATUSES), load_default=None)
    min_rule_score = score_floor()
    min_predicted_score = score_floor()


LeadPage = page_of(LeadOut)


class DealFromLeadIn(CleanInput):
    name = _text(200)
    amount = fields.Decimal(
        load_default=None, allow_none=True, places=2, validate=validate.Range(min=0, max=10**12 - 1)
    )
    currency = fields.String(
        load_default="EUR",
        validate=validate.Regexp(r"^[A-Z]{3}$", error="Use a three-letter ISO currency code such as EUR."),
    )


class ConvertIn(CleanInput):
    deal = fields.Nested(
        DealFromLeadIn,
        allow_none=True,
        load_default=None,
        metadata={"description": "Give it to also open a deal in the default pipeline's first stage."},
    )


class ConversionOut(Schema):
    lead = fields.Nested(LeadOut)
    contact_id = fields.UUID()
    account_id = fields.UUID(allow_none=True)
    deal_id = fields.UUID(allow_none=True)
    contact_created = fields.Boolean(metadata={"description": "False when an existing contact was linked."})
    account_created = fields.Boolean()
