"""A contact's consents on its page: the ledger, receipts, recording a consent (every member)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.errors import NotFound, ValidationError
from saas.i18n import N_, translate
from saas.modules.core.models import Contact
from saas.modules.privacy import consent
from saas.modules.privacy.audit import audit_privacy, staff_actor
from saas.modules.privacy.blueprints import pages
from saas.modules.privacy.models import CONSENT_STATUSES, LAWFUL_BASES
from saas.modules.privacy.views.labels import actor_names
from saas.tenants.routing import current_tenant_session


@pages.get("/privacy/contacts/<uuid:contact_id>/consents")
def contact_consents(contact_id: uuid.UUID):
    """The contact's consents now, or as of the date asked (``?as_of=``), and the whole ledger."""
    session = current_tenant_session()
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(N_("No contact with id %(id)s.", id=contact_id))
    as_of_text = request.args.get("as_of", "")
    message, status = None, 200
    try:
        as_of = consent.parse_as_of(as_of_text)
    except ValidationError as error:
        as_of, status = None, 422
        # The service's detail quotes the input for the API; the page says the same in the reader's words.
        said = _("“%(text)s” is not a date.", text=as_of_text.strip()[:40])
        message = " ".join([said, *(translate(text) for text in error.errors["as_of"])])
    return render_template(
        "privacy/contact_consents.html",
        contact=contact,
        purposes=consent.list_purposes(session),
        state=consent.consent_state(session, contact_id, at=as_of),
        as_of=as_of,
        as_of_text=as_of_text,
        message=message,
        history=consent.consent_history(session, contact_id),
        actors=actor_names(),
        bases=LAWFUL_BASES,
        statuses=CONSENT_STATUSES,
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
    return render_template("privacy/consent_receipt.html", receipt=receipt, actors=actor_names())


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
    flash(_("Consent recorded."))
    return redirect(url_for("privacy.contact_consents", contact_id=contact_id))
