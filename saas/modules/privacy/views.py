"""Staff pages under /t/<slug>/privacy/: the request queue (owners and admins) and contact consents."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import Conflict, NotFound, SaasError, ValidationError
from saas.modules.core.models import Contact
from saas.modules.core.search import contact_hit, search_contacts
from saas.modules.privacy import branding, consent, erasure, requests, retention, subject
from saas.modules.privacy.audit import audit_privacy, commit_audit_with_response
from saas.modules.privacy.models import LAWFUL_BASES, REQUEST_KINDS
from saas.modules.registry import SearchHit
from saas.tenants.routing import current_tenant_session, require_role
from saas.web.search import clean_query

pages = Blueprint("privacy", __name__, template_folder="templates")

PRIVACY_ROLES = ("owner", "admin")
CONSENT_ENDPOINTS = ("privacy.contact_consents", "privacy.record_contact_consent", "privacy.consent_receipt")
"""Open to every member: consents are everyday CRM work."""


def staff_actor() -> str:
    return f"user:{current_user.id}"


@pages.before_request
def _privacy_staff_only() -> None:
    # Recording a consent is everyday CRM work; requests are for the workspace's privacy staff.
    if request.endpoint not in CONSENT_ENDPOINTS:
        require_role(*PRIVACY_ROLES)


pages.after_request(commit_audit_with_response)


CONTACT_CHOICES = 10
"""Contacts offered per search when staff pick the person a request is for."""


def _contact_choices(query: str) -> tuple[list[SearchHit], str | None]:
    """The contacts matching what staff typed, or why none are shown (too short a query)."""
    if not query.strip():
        return [], None
    try:
        query = clean_query(query)
    except ValidationError as error:
        return [], error.detail
    hits = search_contacts(current_tenant_session(), query, CONTACT_CHOICES)
    return hits, None if hits else f"No contact matches “{query}”."


def _render_queue(form: dict[str, str] | None = None, message: str | None = None, status: int = 200):
    """The queue with the "on someone's behalf" form; ``form`` keeps what staff entered."""
    session = current_tenant_session()
    form = form or {}
    show_all = request.args.get("all") == "1"
    query = form.get("contact_q", request.args.get("contact_q", ""))
    choices, choices_message = _contact_choices(query)
    chosen = form.get("contact_id", "")
    if chosen and chosen not in {hit.params["record_id"] for hit in choices}:
        choices = _chosen_contact(chosen) + choices  # still offered, still chosen after a refused submit
    return render_template(
        "privacy/queue.html",
        items=requests.list_requests(session, open_only=not show_all),
        is_overdue=requests.is_overdue,
        show_all=show_all,
        kinds=REQUEST_KINDS,
        methods=requests.VERIFICATION_METHODS,
        contact_q=query,
        choices=choices,
        choices_message=choices_message,
        form=form,
        message=message,
    ), status


def _chosen_contact(contact_id: str) -> list[SearchHit]:
    try:
        contact = current_tenant_session().get(Contact, uuid.UUID(contact_id))
    except ValueError:
        return []
    return [contact_hit(contact)] if contact is not None else []


@pages.get("/privacy/requests")
def request_queue():
    return _render_queue()


@pages.get("/privacy/requests/contact-choices")
def contact_choices():
    """The picker's choices alone (``static/contact-picker.js`` swaps them in while staff type)."""
    choices, choices_message = _contact_choices(request.args.get("q", ""))
    return render_template(
        "privacy/_contact_choices.html", choices=choices, choices_message=choices_message, form={}
    )


@pages.post("/privacy/requests")
def open_request_for_contact():
    """Staff open a request on someone's behalf, saying how that person proved who they are."""
    form = {
        key: request.form.get(key, "")
        for key in ("contact_q", "contact_id", "kind", "verification_method", "details")
    }
    try:
        contact_id = uuid.UUID(form["contact_id"])
    except ValueError:
        return _render_queue(form, "Find the person and choose them in the list.", 422)
    try:
        item = requests.open_request(
            current_tenant_session(),
            kind=form["kind"],
            contact_id=contact_id,
            channel="staff",
            actor=staff_actor(),
            verification_method=form["verification_method"] or None,
            details=form["details"] or None,
        )
    except (ValidationError, NotFound) as error:
        return _render_queue(form, error.detail, 422)
    return redirect(url_for("privacy.show_request", request_id=item.id))


@pages.get("/privacy/requests/<uuid:request_id>")
def show_request(request_id: uuid.UUID):
    session = current_tenant_session()
    item = requests.get_request(session, request_id)
    contact = session.get(Contact, item.contact_id) if item.contact_id else None
    return render_template(
        "privacy/request.html",
        item=item,
        contact=contact,
        overdue=requests.is_overdue(item),
        methods=requests.VERIFICATION_METHODS,
    )


@pages.get("/privacy/requests/<uuid:request_id>/data.json")
def export_request_data(request_id: uuid.UUID):
    """Access and portability: everything held on the request's person, as the center's download."""
    session = current_tenant_session()
    item = requests.get_request(session, request_id)
    if item.verification_method is None:
        raise Conflict("Verify the person's identity before handing out their data.")
    if item.contact_id is None:
        raise NotFound("This request's person is no longer held.")
    body = subject.personal_data_json(session, item.contact_id, g.tenant.slug)
    audit_privacy(session, "request.data_exported", actor=staff_actor(), target=str(item.id))
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="personal-data.json"',
            "Cache-Control": "no-store",
        },
    )


@pages.post("/privacy/requests/<uuid:request_id>")
def act_on_request(request_id: uuid.UUID):
    """One form, several buttons: verify, assign to me, move the status on, start the erasure."""
    session = current_tenant_session()
    action = request.form.get("action", "")
    try:
        if action == "verify":
            requests.verify_request(
                session, request_id, request.form.get("verification_method", ""), staff_actor()
            )
        elif action == "assign":
            requests.assign_request(session, request_id, current_user.id, staff_actor())
        elif action == "erase":
            erasure.start_erasure(session, request_id, staff_actor())
            session.commit()  # the job must see the request in progress
            erasure.enqueue_erasure(g.tenant.id, request_id)
        else:
            requests.set_request_status(session, request_id, action, staff_actor(), request.form.get("note"))
    except SaasError as error:
        if error.status == 404:
            raise
        flash(error.detail)
    return redirect(url_for("privacy.show_request", request_id=request_id))


@pages.get("/privacy/retention")
def retention_page():
    """The policy and its dry run: who would be deleted if it ran now."""
    session = current_tenant_session()
    policy = retention.get_policy(session)
    months = request.args.get("months", type=int) or (policy.months if policy else 24)
    count, sample = retention.preview(session, months) if 1 <= months <= 240 else (0, [])
    return render_template("privacy/retention.html", policy=policy, months=months, count=count, sample=sample)


@pages.post("/privacy/retention")
def save_retention():
    retention.set_policy(
        current_tenant_session(),
        months=request.form.get("months", type=int) or 0,
        enabled=request.form.get("enabled") == "1",
        actor=staff_actor(),
    )
    flash("Retention policy saved.")
    return redirect(url_for("privacy.retention_page"))


@pages.post("/privacy/retention/run")
def run_retention():
    retention.enqueue_retention(g.tenant.id)
    flash("Retention runs now in the background.")
    return redirect(url_for("privacy.retention_page"))


@pages.post("/privacy/suppression/lift")
def lift_suppression():
    """Override: an erased person may be recorded again when staff state a lawful reason."""
    lifted = subject.lift_suppression(
        current_tenant_session(),
        request.form.get("email", ""),
        request.form.get("lawful_reason", ""),
        staff_actor(),
    )
    flash("This person may be recorded again." if lifted else "This email was not on the erasure list.")
    return redirect(url_for("privacy.request_queue"))


@pages.get("/privacy/branding")
def branding_page():
    current = branding.branding(current_tenant_session(), g.tenant.slug)
    return render_template("privacy/branding.html", values=current.__dict__, errors={})


@pages.post("/privacy/branding")
def save_branding():
    try:
        branding.set_branding(current_tenant_session(), request.form, staff_actor())
    except ValidationError as error:
        page = render_template(
            "privacy/branding.html", values=request.form, errors=error.errors, message=error.detail
        )
        return page, 422
    flash("Privacy center branding saved.")
    return redirect(url_for("privacy.branding_page"))


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
