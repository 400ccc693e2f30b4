"""The privacy request queue (owners and admins): open, verify, act on and hand over requests."""

from __future__ import annotations

import uuid

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.errors import Conflict, NotFound, SaasError, ValidationError
from saas.i18n import N_, translate
from saas.modules.core.models import Contact
from saas.modules.core.search import contact_hit, search_contacts
from saas.modules.privacy import erasure, requests, subject
from saas.modules.privacy.audit import audit_privacy, staff_actor
from saas.modules.privacy.blueprints import pages
from saas.modules.privacy.models import REQUEST_KINDS
from saas.modules.privacy.views.labels import actor_names
from saas.modules.registry import SearchHit
from saas.tenants.routing import current_tenant_session
from saas.web.search import clean_query

CONTACT_CHOICES = 10
"""Contacts offered per search when staff pick the person a request is for."""


def _contact_choices(query: str) -> tuple[list[SearchHit], str | None]:
    """The contacts matching what staff typed, or why none are shown (too short a query)."""
    if not query.strip():
        return [], None
    try:
        query = clean_query(query)
    except ValidationError as error:
        return [], translate(error.detail)
    hits = search_contacts(current_tenant_session(), query, CONTACT_CHOICES)
    return hits, None if hits else _("No contact matches “%(query)s”.", query=query)


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
    """The picker's choices alone (``static/record-picker.js`` swaps them in while staff type)."""
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
        return _render_queue(form, _("Find the person and choose them in the list."), 422)
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
        return _render_queue(form, translate(error.detail), 422)
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
        people=actor_names(),
    )


@pages.get("/privacy/requests/<uuid:request_id>/data.json")
def export_request_data(request_id: uuid.UUID):
    """Access and portability: everything held on the request's person, as the center's download."""
    session = current_tenant_session()
    item = requests.get_request(session, request_id)
    if item.verification_method is None:
        raise Conflict(N_("Verify the person's identity before handing out their data."))
    if item.contact_id is None:
        raise NotFound(N_("This request's person is no longer held."))
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
        flash(translate(error.detail))
    return redirect(url_for("privacy.show_request", request_id=request_id))
