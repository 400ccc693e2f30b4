"""A contact's consents on its page: the ledger, receipts, recording a consent (every member)."""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, render_template, request, url_for

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import NotFound, ValidationError
from saas.modules.core.models import Contact
from saas.modules.privacy import consent
from saas.modules.privacy.audit import audit_privacy, staff_actor
from saas.modules.privacy.blueprints import pages
from saas.modules.privacy.models import LAWFUL_BASES
from saas.tenants.routing import current_tenant_session


def _actor_names() -> dict[str, str]:
    """Ledger actors as a person reads them: ``user:<id>`` becomes the member's email."""
    return {f"user:{user_id}": email for user_id, email in workspace_members(db.session, g.tenant.id)}


@pages.get("/privacy/contacts/<uuid:contact_id>/consents")
def contact_consents(contact_id: uuid.UUID):
    """The contact's consents now, or as of the date asked (``?as_of=``), and the whole ledger."""
    session = current_tenant_session()
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    as_of_text = request.args.get("as_of", "")
    message, status = None, 200
    try:
        as_of = consent.parse_as_of(as_of_text)
    except ValidationError as error:
        as_of, message, status = None, error.detail + " " + error.errors["as_of"][0], 422
    return render_template(
        "privacy/contact_consents.html",
        contact=contact,
        purposes=consent.list_purposes(session),
        state=consent.consent_state(session, contact_id, at=as_of),
        as_of=as_of,
        as_of_text=as_of_text,
        message=message,
        history=consent.consent_history(session, contact_id),
        actors=_actor_names(),
        bases=LAWFUL_BASES,
    ), status


@pages.get("/privacy/contacts/<uuid:contact_id>/consents/<string:purpose>/receipt")
def consent_receipt(contact_id: uuid.UUID, purpose: str):
    """A printable receipt: each event of one purpose with the notice text shown, where and by whom."""
    session = current_tenant_session()
    receipt = consent.consent_receipt(session, contact_id, purpose)
    # The receipt hands out a person's address and browser: logged like a data export (identifiers only).
    audit_privacy(
        session, "consent.receipt_viewed", actor=staff_actor(), target=str(contact_id),
        details={"purpose": receipt.purpose.key},
    )  # fmt: skip
    return render_template("privacy/consent_receipt.html", receipt=receipt, actors=_actor_names())


@pages.post("/privacy/contacts/<uuid:contact_id>/consents")
def record_contact_consent(contact_id: uuid.UUID):
    session = current_tenant_session()
    consent.record_consent(
        session,
        contact_id,
        request.form.get("purpose", ""),
        request.form.get("status", ""),
        consent.ConsentContext(
            source="staff", actor=staff_actor(), ip=request.remote_addr, user_agent=request.user_agent.string
        ),
        lawful_basis=request.form.get("lawful_basis", "consent"),
    )
    flash("Consent recorded.")
    return redirect(url_for("privacy.contact_consents", contact_id=contact_id))
