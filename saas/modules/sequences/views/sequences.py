"""Pages of sequences: the list, the editor (name, owner, an ordered list of steps: add and remove by plain
form posts that re-render the page until it is saved) with the counts per salesperson and the enrolments
(each with its history, pause, resume and stop), enrolling a contact from their page, and deleting."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import PermissionDenied, SaasError, ValidationError
from saas.i18n import translate
from saas.modules.core.services import contacts
from saas.modules.sequences import definitions, sequences, stops
from saas.modules.sequences.blueprints import pages
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session

STEP_FIELDS = ("subject", "body", "title", "due_days", "amount", "unit")


def _sequence_from_form(form: MultiDict) -> dict[str, Any]:
    count = int(form["step_count"]) if (form.get("step_count") or "").isdigit() else 0
    steps = []
    for index in range(min(count, definitions.MAX_STEPS)):
        prefix = f"step-{index}-"
        step = {"type": form.get(prefix + "type")}
        steps.append(step | {name: form[prefix + name] for name in STEP_FIELDS if form.get(prefix + name)})
    return {"name": form.get("name", ""), "owner_user_id": form.get("owner_user_id") or None, "steps": steps}


def _apply(action: str, data: dict[str, Any], new_step: str | None) -> None:
    """The step list's buttons: add (at the end) and remove; the page is shown again, unsaved."""
    steps = data["steps"]
    verb, _, position = action.partition("-")
    if verb == "add" and new_step in definitions.STEPS and len(steps) < definitions.MAX_STEPS:
        steps.append(
            {"type": new_step, "unit": "days", "amount": 1} if new_step == "wait" else {"type": new_step}
        )
    elif verb == "remove" and position.isdigit() and int(position) < len(steps):
        steps.pop(int(position))


def _may_edit(owner_user_id: uuid.UUID | None) -> bool:
    """A sequence is its owner's to change (and the workspace's admins')."""
    return g.membership.role in ADMIN_ROLES or owner_user_id in (None, current_user.id)


def _editor(
    data: dict[str, Any], sequence_id: uuid.UUID | None, error: ValidationError | None = None, status=200
):
    session = current_tenant_session()
    members = workspace_members(db.session, g.tenant.id)
    return (
        render_template(
            "sequences/edit.html", data=data, sequence_id=sequence_id, defs=definitions,
            members=[(str(user_id), email) for user_id, email in members], member_names=dict(members),
            editable=_may_edit(data.get("owner_user_id") and uuid.UUID(str(data["owner_user_id"]))),
            message=error.detail if error else None, errors=error.errors if error else {},
            counts=sequences.counts_by_salesperson(session, sequence_id) if sequence_id else [],
            counted=sequences.COUNTED,
            enrolments=sequences.enrolments_of_sequence(session, sequence_id) if sequence_id else [],
        ),
        status,
    )  # fmt: skip


@pages.get("/sequences")
def index():
    session = current_tenant_session()
    return render_template(
        "sequences/index.html",
        sequences=sequences.list_sequences(session),
        counts=sequences.enrolment_counts(session),
    )


@pages.get("/sequences/new")
def new():
    return _editor({"name": "", "owner_user_id": str(current_user.id), "steps": []}, None)


@pages.get("/sequences/<uuid:sequence_id>")
def edit(sequence_id: uuid.UUID):
    sequence = sequences.get_sequence(current_tenant_session(), sequence_id)
    data = {"name": sequence.name, "owner_user_id": sequence.owner_user_id, "steps": sequence.steps}
    return _editor(data, sequence_id)


def _save(sequence_id: uuid.UUID | None):
    session = current_tenant_session()
    # 404 for another workspace's id, before anything else
    if sequence_id is not None and not _may_edit(sequences.get_sequence(session, sequence_id).owner_user_id):
        raise PermissionDenied("Only the sequence's owner or an admin may change it.")
    data = _sequence_from_form(request.form)
    action = request.form.get("action", "save")
    if action != "save":
        _apply(action, data, request.form.get("new_step"))
        return _editor(data, sequence_id)
    try:
        if sequence_id is None:
            saved = sequences.create_sequence(session, data, user_id=current_user.id)
        else:
            saved = sequences.update_sequence(session, sequence_id, data)
    except ValidationError as error:
        return _editor(data, sequence_id, error, 422)
    flash(gettext("Sequence saved."))
    return redirect(url_for("sequences.edit", sequence_id=saved.id))


@pages.post("/sequences/new")
def create():
    return _save(None)


@pages.post("/sequences/<uuid:sequence_id>")
def update(sequence_id: uuid.UUID):
    return _save(sequence_id)


@pages.post("/sequences/<uuid:sequence_id>/delete")
def delete(sequence_id: uuid.UUID):
    session = current_tenant_session()
    if not _may_edit(sequences.get_sequence(session, sequence_id).owner_user_id):
        raise PermissionDenied("Only the sequence's owner or an admin may delete it.")
    sequences.delete_sequence(session, sequence_id)
    flash(gettext("Sequence deleted."))
    return redirect(url_for("sequences.index"))


def _contact_page(contact_id: Any) -> str:
    return url_for("core.show_contacts", record_id=contact_id)


@pages.post("/sequences/enrol/<uuid:contact_id>")
def enrol(contact_id: uuid.UUID):
    """Enrol the contact (from their page) in the chosen sequence, as the member who asks."""
    session = current_tenant_session()
    contacts.get(session, contact_id)  # 404 for another workspace's contact, before anything else
    try:
        sequence_id = uuid.UUID(request.form.get("sequence_id", ""))
    except ValueError:
        flash(gettext("Choose a sequence."), "error")
        return redirect(_contact_page(contact_id), 303)
    created = sequences.enrol_contacts(session, sequence_id, [contact_id], current_user.id)
    flash(gettext("Enrolled in the sequence.") if created else gettext("Already in this sequence."))
    return redirect(_contact_page(contact_id), 303)


@pages.post("/sequences/enrolments/<uuid:sequence_enrolment_id>")
def change_enrolment(sequence_enrolment_id: uuid.UUID):
    session = current_tenant_session()
    enrolment = stops.get_enrolment(session, sequence_enrolment_id)
    back = (
        _contact_page(enrolment.contact_id)
        if request.form.get("back") == "contact"
        else url_for("sequences.edit", sequence_id=enrolment.sequence_id)
    )
    action = request.form.get("action", "")
    try:
        if action not in stops.ACTIONS:
            raise ValidationError(gettext("Choose pause, resume or stop."))
        stops.change_enrolment(session, sequence_enrolment_id, action)
    except SaasError as error:
        flash(translate(error.detail), "error")
        return redirect(back, 303)
    flash({"pause": gettext("Enrolment paused."), "resume": gettext("Enrolment resumed."),
           "stop": gettext("Enrolment stopped.")}[action])  # fmt: skip
    return redirect(back, 303)
