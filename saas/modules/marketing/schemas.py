"""API schemas of the marketing module; the services check the rules, these check shapes."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import UUID, Boolean, DateTime, Dict, Email, Integer, List, Nested, Raw, String
from apiflask.validators import Length, OneOf

from saas.modules.marketing.models import SEGMENT_KINDS


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
