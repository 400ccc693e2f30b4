"""API resources: /api/v1/contacts/<id>/consents (the ledger) and /api/v1/privacy/requests."""

from __future__ import annotations

import uuid
from datetime import datetime

from apiflask import Schema
from apiflask.fields import UUID, DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import OneOf
from flask import request, url_for

from saas.api import api_blueprint, token_auth
from saas.modules.privacy import consent, requests
from saas.modules.privacy.audit import audit_privacy, commit_audit_with_response
from saas.modules.privacy.links import enqueue_consent_confirmation
from saas.modules.privacy.models import CONSENT_STATUSES, LAWFUL_BASES, REQUEST_KINDS
from saas.modules.privacy.subject import data_subject
from saas.tenants.routing import current_tenant_session, require_role

api = api_blueprint("privacy_api", __name__, tag="Privacy")


api.after_request(commit_audit_with_response)


def _actor() -> str:
    return f"user:{token_auth.current_user.id}"


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


def _consents(contact_id: uuid.UUID, as_of: datetime | None = None) -> dict:
    session = current_tenant_session()
    state = consent.consent_state(session, contact_id, at=as_of)
    return {
        "as_of": as_of,
        "state": {key: (event.status if event else None) for key, event in state.items()},
        "history": consent.consent_history(session, contact_id),
    }


@api.get("/contacts/<uuid:contact_id>/consents")
@api.auth_required(token_auth)
@api.output(ConsentsOut)
@api.input(ConsentsQuery, location="query")
@api.doc(
    summary="A contact's consents: the state per purpose (now or `as_of`) and the full ledger",
    responses=[404, 422],
)
def list_consents(contact_id: uuid.UUID, query_data: dict):
    as_of = consent.parse_as_of(query_data["as_of"])
    data_subject(current_tenant_session(), contact_id)  # 404 for an unknown contact
    return _consents(contact_id, as_of)


@api.get("/contacts/<uuid:contact_id>/consents/<string:purpose>/receipt")
@api.auth_required(token_auth)
@api.output(ReceiptOut)
@api.doc(
    summary="The receipt of a contact's consent for one purpose: every event with the notice text shown",
    responses=[404],
)
def consent_receipt(contact_id: uuid.UUID, purpose: str):
    receipt = consent.consent_receipt(current_tenant_session(), contact_id, purpose)
    audit_privacy(
        current_tenant_session(), "consent.receipt_viewed", actor=_actor(), target=str(contact_id),
        details={"purpose": receipt.purpose.key},
    )  # fmt: skip
    return receipt


@api.post("/contacts/<uuid:contact_id>/consents")
@api.auth_required(token_auth)
@api.input(ConsentIn)
@api.output(ConsentEventOut, status_code=201)
@api.doc(summary="Append a consent event (source api)", responses=[404, 422])
def record_consent(contact_id: uuid.UUID, json_data: dict):
    context = consent.ConsentContext(
        source=json_data["source"],
        actor=_actor(),
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    session = current_tenant_session()
    event = consent.record_consent(
        session,
        contact_id,
        json_data["purpose"],
        json_data["status"],
        context,
        lawful_basis=json_data["lawful_basis"],
        notice_version=json_data["notice_version"],
    )
    if consent.needs_confirmation(json_data["purpose"], json_data["status"], context.source):
        session.commit()  # the mailing job must find the pending event
        center_url = url_for("customer_hub.start", slug=session.tenant.slug, _external=True)
        enqueue_consent_confirmation(session.tenant.id, event.id, center_url)
    return event


@api.get("/privacy/requests")
@api.auth_required(token_auth)
@api.output(RequestList)
@api.doc(summary="Data subject requests, most urgent first (owners and admins)", responses=[403])
def list_privacy_requests():
    require_role("owner", "admin")
    return {"data": requests.list_requests(current_tenant_session())}


@api.post("/privacy/requests")
@api.auth_required(token_auth)
@api.input(RequestIn)
@api.output(RequestOut, status_code=201)
@api.doc(
    summary="Open a data subject request on someone's behalf (owners and admins)", responses=[403, 404, 422]
)
def open_privacy_request(json_data: dict):
    require_role("owner", "admin")
    return requests.open_request(current_tenant_session(), channel="api", actor=_actor(), **json_data)


@api.get("/privacy/requests/<uuid:request_id>")
@api.auth_required(token_auth)
@api.output(RequestOut)
@api.doc(summary="One data subject request", responses=[403, 404])
def get_privacy_request(request_id: uuid.UUID):
    require_role("owner", "admin")
    return requests.get_request(current_tenant_session(), request_id)
