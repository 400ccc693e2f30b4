"""API schemas of the marketing module; the services check the rules, these check shapes."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import UUID, Boolean, DateTime, Dict, Email, Float, Integer, List, Nested, Raw, String
from apiflask.validators import Length, OneOf, Range

from saas.modules.marketing.models import AB_DECISIONS, AB_METRICS, SEGMENT_KINDS


class RuleIn(Schema):
    field = String(
        required=True,
        metadata={
            "description": "e.g. first_name, account_industry, activity, deal_stage, lifecycle_stage, "
            "consent_email_marketing"
        },
    )
    op = String(
        required=True,
        metadata={
            "description": "equals, not_equals, contains, starts_with, is_set, is_not_set, within_days, "
            "not_within_days"
        },
    )
    value = Raw(allow_none=True)


class SegmentIn(Schema):
    name = String(required=True, validate=Length(1, 200))
    kind = String(load_default="rules", validate=OneOf(SEGMENT_KINDS))
    match = String(load_default="all", validate=OneOf(("all", "any")))
    rules = List(Nested(RuleIn), load_default=list)


class SegmentOut(Schema):
    id = UUID()
    name = String()
    kind = String()
    match = String()
    rules = List(Dict())
    created_at = DateTime()
    updated_at = DateTime()


class SegmentList(Schema):
    data = List(Nested(SegmentOut))


class PreviewContact(Schema):
    id = UUID()
    display_name = String()
    email = String()


class SegmentCount(Schema):
    count = Integer()
    preview = List(Nested(PreviewContact))


class MembersIn(Schema):
    contact_ids = List(UUID(), required=True, validate=Length(max=1000))
    remove = Boolean(load_default=False)


class MembersOut(Schema):
    changed = Integer()


class VariantIn(Schema):
    locale = String(
        required=True, metadata={"description": "One of en, de, ru, zh_Hans, fa; one variant per language."}
    )
    subject = String(required=True)
    html_body = String(load_default="")
    text_body = String(load_default="")


class VariantOut(Schema):
    locale = String()
    subject = String()
    html_body = String()
    text_body = String()


class ArmIn(Schema):
    subject = String(load_default="", metadata={"description": "Empty: the campaign's own subject."})
    html_body = String(load_default="", metadata={"description": "Empty: the campaign's own HTML body."})
    text_body = String(load_default="", metadata={"description": "Empty: the campaign's own text body."})


class ArmOut(Schema):
    subject = String()
    html_body = String()
    text_body = String()


class ABTestIn(Schema):
    sample_percent = Integer(
        required=True,
        validate=Range(1, 90),
        metadata={"description": "Share of the default-language audience drawn into the test."},
    )
    metric = String(required=True, validate=OneOf(AB_METRICS))
    wait_hours = Integer(
        required=True, validate=Range(1, 720), metadata={"description": "From the snapshot to the choice."}
    )
    arms = List(
        Nested(ArmIn),
        required=True,
        validate=Length(2, 4),
        metadata={"description": "Arms A, B, (C, D), each a subject and/or content; at least one differs."},
    )


class ABTestOut(Schema):
    sample_percent = Integer()
    metric = String()
    wait_hours = Integer()
    arms = List(Nested(ArmOut))
    decide_at = DateTime(allow_none=True)
    decided_at = DateTime(allow_none=True)
    winner = String(attribute="winner_arm", allow_none=True, metadata={"description": "A, B, C or D."})
    decision = String(allow_none=True, metadata={"description": ", ".join(AB_DECISIONS)})


class CampaignIn(Schema):
    name = String(required=True, validate=Length(1, 200))
    subject = String(required=True, validate=Length(1, 200))
    html_body = String(
        load_default="",
        metadata={"description": "Sanitised when saved; merge fields such as {{ first_name }}."},
    )
    text_body = String(load_default="")
    segment_id = UUID(allow_none=True, load_default=None)
    variants = List(
        Nested(VariantIn),
        metadata={
            "description": "The campaign in more languages: a contact whose preferred_locale has a variant "
            "gets it, everyone else the campaign's own subject and bodies. Given, it replaces the set."
        },
    )
    ab_test = Nested(
        ABTestIn,
        allow_none=True,
        metadata={
            "description": "An A/B test of the default-language content: arms go to a random sample, the "
            "winner by open or click rate to the rest after wait_hours (ties and no data: the first tied "
            "arm, A). Recipients with a language variant get their language, outside the test. null "
            "removes the test."
        },
    )


class CampaignOut(Schema):
    id = UUID()
    name = String()
    subject = String()
    html_body = String()
    text_body = String()
    segment_id = UUID(allow_none=True)
    status = String()
    scheduled_at = DateTime(allow_none=True)
    started_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)
    audience = Dict()
    created_at = DateTime()
    variants = List(Nested(VariantOut))
    ab_test = Nested(ABTestOut, allow_none=True)


class CampaignList(Schema):
    data = List(Nested(CampaignOut))


class ScheduleIn(Schema):
    send_at = DateTime(
        allow_none=True,
        load_default=None,
        metadata={
            "description": "Omit to send now. Without an offset it is read in the workspace's time zone."
        },
    )


class TestSendIn(Schema):
    to = Email(required=True)
    locale = String(
        allow_none=True,
        load_default=None,
        metadata={"description": "The language variant to send (one of the campaign's); omit for its own."},
    )


class TestSendOut(Schema):
    queued_to = String()


class ArmReportOut(Schema):
    arm = String()
    subject = String()
    recipients = Integer()
    sent = Integer()
    opened = Integer()
    clicked = Integer()
    successes = Integer(metadata={"description": "Opens or clicks, as the test's metric says."})
    rate = Float(allow_none=True)
    ci_low = Float(allow_none=True, metadata={"description": "Wilson score interval, 95 %."})
    ci_high = Float(allow_none=True)
    p_value = Float(
        allow_none=True,
        metadata={
            "description": "Two-proportion z-test of the leader against this arm; null for the leader."
        },
    )


class ABReportOut(Schema):
    metric = String()
    sample_percent = Integer()
    wait_hours = Integer()
    decide_at = DateTime(allow_none=True)
    decided_at = DateTime(allow_none=True)
    winner = String(allow_none=True)
    decision = String(allow_none=True)
    leader = String(allow_none=True, metadata={"description": "The winner, or the arm the rule picks now."})
    held = Integer(metadata={"description": "Recipients waiting for the winner."})
    rule = String()
    arms = List(Nested(ArmReportOut))


class CreditOut(Schema):
    channel = String(metadata={"description": "campaign, form or website"})
    source = String(
        metadata={"description": "The campaign's or form's id, or the website referrer's origin."}
    )
    label = String()
    deals = Integer()
    amounts = Dict(keys=String(), values=String(), metadata={"description": "Per currency, decimal strings."})
    in_base_currency = String(
        metadata={"description": "The amounts in the base currency (those with a rate)."}
    )


class CurrencyBasisOut(Schema):
    base_currency = String()
    rates_as_of = String()
    rates_used = List(Dict())
    not_converted = List(String())


class CampaignRevenueOut(Schema):
    first_touch = Nested(CreditOut)
    last_touch = Nested(CreditOut)
    currency = Nested(CurrencyBasisOut)
    explained = String()


class AttributionOut(Schema):
    first_touch = List(Nested(CreditOut))
    last_touch = List(Nested(CreditOut))
    currency = Nested(CurrencyBasisOut)
    explained = String()


class ReportOut(Schema):
    recipients = Integer()
    queued = Integer()
    sent = Integer()
    delivered = Integer()
    bounced = Integer()
    failed = Integer()
    opened = Integer()
    clicked = Integer()
    unsubscribed = Integer()
    timeline = List(Dict())
    sent_by_language = Dict(
        keys=String(), values=Integer(), metadata={"description": "Sent per variant locale or 'default'."}
    )
    ab_test = Nested(ABReportOut, allow_none=True)
    revenue = Nested(
        CampaignRevenueOut,
        allow_none=True,
        metadata={"description": "Won deals whose first or last touch before the win was this campaign."},
    )


class SettingsIn(Schema):
    from_name = String(required=True, validate=Length(1, 100))
    from_email = Email(required=True)
    reply_to = Email(allow_none=True, load_default=None)
    postal_address = String(allow_none=True, load_default=None, validate=Length(max=300))
    time_zone = String(load_default="UTC")


class SettingsOut(Schema):
    from_name = String()
    from_email = String()
    reply_to = String(allow_none=True)
    postal_address = String(allow_none=True)
    time_zone = String()


class FormIn(Schema):
    name = String(required=True, validate=Length(1, 200))
    fields = List(String(), load_default=list)
    purposes = List(String(), load_default=list)
    create_lead = Boolean(load_default=True)
    thank_you = String(load_default="Thank you!", validate=Length(max=500))
    enabled = Boolean(load_default=True)


class FormOut(Schema):
    id = UUID()
    name = String()
    fields = List(String())
    purposes = List(String())
    create_lead = Boolean()
    thank_you = String()
    enabled = Boolean()
    public_url = String()
    created_at = DateTime()


class FormList(Schema):
    data = List(Nested(FormOut))
