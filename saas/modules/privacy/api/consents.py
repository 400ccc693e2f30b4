"""``/api/v1/contacts/<id>/consents``: the consent ledger, its receipts, recording a consent."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import request, url_for

from saas.api import token_auth
from saas.modules.privacy import consent
from saas.modules.privacy.audit import api_actor as _actor
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.blueprints import api
from saas.modules.privacy.links import enqueue_consent_confirmation
from saas.modules.privacy.schemas import (
    ConsentEventOut,
    ConsentIn,
    ConsentsOut,
    ConsentsQuery,
    ReceiptOut,
)
from saas.modules.privacy.subject import data_subject
from saas.tenants.routing import current_tenant_session


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
