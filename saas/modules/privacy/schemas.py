"""Input and output schemas of the privacy API: consents, receipts, requests."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import UUID, DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import OneOf

from saas.modules.privacy import requests
from saas.modules.privacy.models import CONSENT_STATUSES, LAWFUL_BASES, REQUEST_KINDS


class ConsentIn(Schema):
    purpose = String(required=True)
    status = String(required=True, validate=OneOf(CONSENT_STATUSES))
    lawful_basis = String(load_default="consent", validate=OneOf(LAWFUL_BASES))
    notice_version = Integer(load_default=None, allow_none=True)
    source = String(
        load_default="api",
        validate=OneOf(("api", "form", "import")),
        metadata={"description": "Where the consent was given; a form or import grant of email marketing "
                  "stays pending until the person confirms the link mailed to them (double opt-in)."},
    )  # fmt: skip


class ConsentEventOut(Schema):
    id = Integer()
    purpose = String(attribute="purpose.key")
    status = String()
    lawful_basis = String()
    source = String()
    notice_version = Integer(attribute="notice.version")
    occurred_at = DateTime()
    actor = String()
    ip = String(allow_none=True, metadata={"description": "The address the event came from, when known."})
    user_agent = String(allow_none=True, metadata={"description": "The browser it came from, when known."})


class ConsentsQuery(Schema):
    as_of = String(
        load_default=None,
        metadata={"description": "The state as of this moment: a date (`2024-05-31`, the end of that day "
                  "in UTC) or a date-time (`2024-05-31T12:00:00Z`); now when left out."},
    )  # fmt: skip


class ConsentsOut(Schema):
    as_of = DateTime(allow_none=True, metadata={"description": "The moment `state` is of; null: now."})
    state = Dict(keys=String(), values=String(allow_none=True))
    history = List(Nested(ConsentEventOut))


class ReceiptEventOut(ConsentEventOut):
    notice_text = String(attribute="notice.text", metadata={"description": "The notice text shown."})


class ReceiptOut(Schema):
    contact_id = UUID(attribute="contact.id")
    purpose = String(attribute="purpose.key")
    title = String(attribute="purpose.title")
    status = String(allow_none=True, metadata={"description": "The state now; null: never asked."})
    events = List(Nested(ReceiptEventOut), metadata={"description": "Oldest first."})


class RequestIn(Schema):
    kind = String(required=True, validate=OneOf(REQUEST_KINDS))
    contact_id = UUID(required=True)
    verification_method = String(
        load_default=None, allow_none=True, validate=OneOf(requests.VERIFICATION_METHODS)
    )
    details = String(load_default=None, allow_none=True)


class RequestOut(Schema):
    id = UUID()
    kind = String()
    status = String()
    contact_id = UUID(allow_none=True)
    channel = String()
    verification_method = String(allow_none=True)
    received_at = DateTime()
    due_at = DateTime()
    completed_at = DateTime(allow_none=True)
    report = Dict()


class RequestList(Schema):
    data = List(Nested(RequestOut))
