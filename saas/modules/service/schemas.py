"""Input and output schemas of the service API; the pages validate their forms with the same ones."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.modules.core.schemas import CleanInput, ListQuery, list_of, page_of
from saas.modules.service.models import (
    ARTICLE_STATUSES,
    CHANNELS,
    MACRO_SCOPES,
    MESSAGE_KINDS,
    PRIORITIES,
    STATUSES,
    STRATEGIES,
)
from saas.modules.service.tickets import VIEWS

_tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))


def _custom_fields() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(), metadata={"description": "Values of the workspace's custom fields, by key."}
    )


class TicketIn(CleanInput):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=100_000))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata={"description": "api when left out."})
    requester_contact_id = fields.UUID(allow_none=True)
    assignee_user_id = fields.UUID(
        allow_none=True, metadata={"description": "Left out: the queue's auto-assignment decides."}
    )
    queue_id = fields.UUID(allow_none=True, metadata={"description": "Left out: the default queue."})
    tags = _tags
    custom_fields = _custom_fields()


class TicketChange(CleanInput):
    subject = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=100_000))
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    assignee_user_id = fields.UUID(allow_none=True)
    queue_id = fields.UUID(allow_none=True)
    tags = _tags
    custom_fields = _custom_fields()


class TicketOut(Schema):
    id = fields.UUID()
    reference = fields.String()
    subject = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String()
    priority = fields.String()
    channel = fields.String()
    requester_contact_id = fields.UUID(allow_none=True)
    assignee_user_id = fields.UUID(allow_none=True)
    queue_id = fields.UUID(allow_none=True)
    tags = fields.List(fields.String())
    first_response_due_at = fields.DateTime(allow_none=True)
    resolution_due_at = fields.DateTime(allow_none=True)
    first_responded_at = fields.DateTime(allow_none=True)
    first_response_breached = fields.Boolean()
    resolution_breached = fields.Boolean()
    solved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    csat_rating = fields.Integer(allow_none=True)
    csat_comment = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    custom_fields = fields.Dict(metadata={"description": "Values of the workspace's custom fields, by key."})


class TicketFilters(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(
        load_default=None,
        validate=validate.OneOf(VIEWS),
        metadata={
            "description": "mine (yours, unsolved), unassigned, breaching (a target due within 4 hours)."
        },
    )
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    queue_id = fields.UUID(load_default=None)
    assignee_user_id = fields.UUID(load_default=None)
    requester_contact_id = fields.UUID(load_default=None)
    tag = fields.String(load_default=None, validate=validate.Length(max=50))


class TicketListQuery(ListQuery, TicketFilters):
    """The list's filters; ``cf_<key>=<value>`` parameters (custom fields) arrive as ``custom``."""


TicketPage = page_of(TicketOut)


class MessageIn(CleanInput):
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    kind = fields.String(load_default="public", validate=validate.OneOf(("public", "note")))
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Change the ticket's status in the same step (e.g. pending_customer)."},
    )


class MessageOut(Schema):
    id = fields.UUID()
    ticket_id = fields.UUID()
    kind = fields.String()
    body = fields.String()
    author_user_id = fields.UUID(allow_none=True)
    author_contact_id = fields.UUID(allow_none=True)
    channel = fields.String()
    created_at = fields.DateTime()


MessageList = list_of(MessageOut)


class EventOut(Schema):
    id = fields.UUID()
    action = fields.String()
    details = fields.Dict()
    actor = fields.String()
    actor_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


EventList = list_of(EventOut)


class QueueIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    strategy = fields.String(validate=validate.OneOf(STRATEGIES))
    is_default = fields.Boolean()
    member_ids = fields.List(fields.UUID(), validate=validate.Length(max=500))


class QueueOut(Schema):
    id = fields.UUID()
    name = fields.String()
    strategy = fields.String()
    is_default = fields.Boolean()
    member_ids = fields.List(fields.UUID())


QueueList = list_of(QueueOut)


class PolicyIn(CleanInput):
    first_response_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=525_600))
    resolution_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=525_600))


class PolicyOut(Schema):
    priority = fields.String()
    first_response_minutes = fields.Integer()
    resolution_minutes = fields.Integer()


PolicyList = list_of(PolicyOut)


class HolidayOut(Schema):
    day = fields.Date()
    name = fields.String()


class CalendarIn(CleanInput):
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    work_days = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=7)), validate=validate.Length(min=1)
    )
    start_minute = fields.Integer(validate=validate.Range(min=0, max=1439))
    end_minute = fields.Integer(validate=validate.Range(min=1, max=1440))


class CalendarOut(Schema):
    timezone = fields.String()
    work_days = fields.List(fields.Integer())
    start_minute = fields.Integer()
    end_minute = fields.Integer()
    holidays = fields.List(fields.Nested(HolidayOut))


class HolidayIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ArticleIn(CleanInput):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=200_000))
    status = fields.String(validate=validate.OneOf(ARTICLE_STATUSES))
    category_id = fields.UUID(allow_none=True)


class ArticleOut(Schema):
    id = fields.UUID()
    title = fields.String()
    body = fields.String()
    status = fields.String()
    category_id = fields.UUID(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ArticleList = list_of(ArticleOut)


class ArticleQuery(Schema):
    class Meta:
        unknown = RAISE

    q = fields.String(load_default=None, validate=validate.Length(max=500))
    status = fields.String(load_default=None, validate=validate.OneOf(ARTICLE_STATUSES))
    category_id = fields.UUID(load_default=None)


class CategoryIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CategoryOut(Schema):
    id = fields.UUID()
    name = fields.String()
    position = fields.Integer()


CategoryList = list_of(CategoryOut)


class MacroIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = fields.String(
        validate=validate.OneOf(MACRO_SCOPES),
        metadata={"description": "personal (yours alone; the default) or shared (owners and admins)."},
    )
    reply = fields.String(
        allow_none=True,
        validate=validate.Length(max=100_000),
        metadata={"description": "Reply text with merge fields, e.g. {{ ticket.subject }}."},
    )
    reply_kind = fields.String(validate=validate.OneOf(MESSAGE_KINDS))
    status = fields.String(allow_none=True, validate=validate.OneOf(STATUSES))
    priority = fields.String(allow_none=True, validate=validate.OneOf(PRIORITIES))
    queue_id = fields.UUID(allow_none=True)
    assignee_user_id = fields.UUID(allow_none=True)
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(max=20),
        metadata={"description": "Added to the ticket's tags."},
    )


class MacroOut(Schema):
    id = fields.UUID()
    name = fields.String()
    scope = fields.String()
    owner_user_id = fields.UUID(allow_none=True)
    reply = fields.String(allow_none=True)
    reply_kind = fields.String()
    status = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    queue_id = fields.UUID(allow_none=True)
    assignee_user_id = fields.UUID(allow_none=True)
    tags = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


MacroList = list_of(MacroOut)


class ApplyMacroIn(CleanInput):
    macro_id = fields.UUID(required=True)
