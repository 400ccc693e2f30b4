"""Segment pages: rules with a live count and preview, static lists and their members."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from saas.errors import ValidationError
from saas.i18n import N_, translate
from saas.modules.core.models import Contact
from saas.modules.marketing import segments
from saas.modules.marketing.blueprints import pages
from saas.modules.marketing.models import Segment
from saas.modules.marketing.views.campaigns import uuid_or_none
from saas.modules.registry import registry
from saas.tenants.routing import current_tenant_session

RULE_ROWS = 6

# Labels translated where shown (``{{ _(label) }}``): the page's language is known only then.
OP_LABELS = {
    "equals": N_("is"),
    "not_equals": N_("is not"),
    "contains": N_("contains"),
    "starts_with": N_("starts with"),
    "is_set": N_("is set"),
    "is_not_set": N_("is empty"),
    "within_days": N_("within the last (days)"),
    "not_within_days": N_("not within the last (days)"),
}
FIELD_LABELS = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "email": N_("Email"),
    "title": N_("Job title"),
    "phone": N_("Phone"),
    "account_name": N_("Account name"),
    "account_industry": N_("Account industry"),
    "account_domain": N_("Account domain"),
    "created": N_("Created"),
    "activity": N_("Last activity"),
    "deal_stage": N_("Deal stage"),
    "lifecycle_stage": N_("Lifecycle stage"),
    "consent_email_marketing": N_("Email marketing consent"),
}
"""A rule's field as staff read it; every field of ``segments.FIELDS`` has one."""


@pages.get("/marketing/segments")
def list_segments():
    session = current_tenant_session()
    rows = [(s, segments.count_and_preview(session, s)[0]) for s in segments.list_segments(session)]
    return render_template("marketing/segments.html", rows=rows)


def _rules_from_form() -> list[dict[str, Any]]:
    rules = []
    for i in range(RULE_ROWS):
        field = request.values.get(f"rule_{i}_field")
        if not field:
            continue
        value: Any = request.values.get(f"rule_{i}_value", "").strip()
        if field in ("created", "activity"):
            value = int(value) if value.isdigit() else value
        rules.append({"field": field, "op": request.values.get(f"rule_{i}_op", ""), "value": value or None})
    return rules


def _segment_form() -> dict[str, Any]:
    return {
        "name": request.values.get("name", ""),
        "kind": request.values.get("kind", "rules"),
        "match": request.values.get("match", "all"),
        "rules": _rules_from_form(),
    }


def _render_segment(segment, *, form=None, errors=None, message=None, count=None, preview=None, status=200):
    session = current_tenant_session()
    if segment is not None and count is None:
        count, preview = segments.count_and_preview(session, segment)
    rules = (form or {}).get("rules") if form else (segment.rules if segment else [])
    declared = registry.segment_fields().values()  # other modules' fields (pages a contact viewed)
    return render_template(
        "marketing/segment.html",
        segment=segment,
        form=form or {},
        rules=list(rules or []) + [{}] * RULE_ROWS,
        rule_rows=RULE_ROWS,
        fields=segments.rule_fields(),
        op_labels=OP_LABELS | {op: label for f in declared for op, label in f.ops},
        field_labels=FIELD_LABELS | {f.key: f.label for f in declared},
        errors=errors or {},
        message=message,
        count=count,
        preview=preview or [],
    ), status


@pages.get("/marketing/segments/new")
def new_segment():
    return _render_segment(None)


@pages.get("/marketing/segments/preview")
def preview_segment():
    """The live count: the rules as typed, counted and previewed without saving them."""
    form = _segment_form()
    session = current_tenant_session()
    try:
        draft = Segment(
            kind="rules",
            match=form["match"] if form["match"] in ("all", "any") else "all",
            rules=segments.clean_rules(form["rules"]),
        )
    except ValidationError as error:
        return _render_segment(
            None, form=form, errors=error.errors, message=translate(error.detail), status=422
        )
    count, preview = segments.count_and_preview(session, draft)
    segment_id = uuid_or_none(request.args.get("segment_id"))
    segment = session.get(Segment, segment_id) if segment_id else None
    return _render_segment(segment, form=form, count=count, preview=preview)


@pages.post("/marketing/segments/new")
def create_segment():
    try:
        segment = segments.create_segment(current_tenant_session(), _segment_form())
    except ValidationError as error:
        return _render_segment(
            None, form=_segment_form(), errors=error.errors, message=translate(error.detail), status=422
        )
    flash(gettext("Segment saved."))
    return redirect(url_for("marketing.show_segment", segment_id=segment.id))


@pages.get("/marketing/segments/<uuid:segment_id>")
def show_segment(segment_id: uuid.UUID):
    return _render_segment(segments.get_segment(current_tenant_session(), segment_id))


@pages.post("/marketing/segments/<uuid:segment_id>")
def update_segment(segment_id: uuid.UUID):
    session = current_tenant_session()
    segment = segments.get_segment(session, segment_id)
    try:
        segments.update_segment(session, segment_id, _segment_form())
    except ValidationError as error:
        session.rollback()
        segment = segments.get_segment(session, segment_id)
        return _render_segment(
            segment, form=_segment_form(), errors=error.errors, message=translate(error.detail), status=422
        )
    flash(gettext("Segment saved."))
    return redirect(url_for("marketing.show_segment", segment_id=segment.id))


@pages.post("/marketing/segments/<uuid:segment_id>/members")
def change_members(segment_id: uuid.UUID):
    """Static lists: add (or remove) contacts by their email addresses, one a line."""
    session = current_tenant_session()
    segment = segments.get_segment(session, segment_id)
    emails = {e.strip().lower() for e in request.form.get("emails", "").splitlines() if e.strip()}
    ids = (
        list(session.scalars(select(Contact.id).where(func.lower(Contact.email).in_(emails))))
        if emails
        else []
    )
    try:
        changed = segments.set_members(session, segment.id, ids, add=request.form.get("action") != "remove")
    except ValidationError as error:
        session.rollback()
        return _render_segment(
            segments.get_segment(session, segment_id),
            errors=error.errors,
            message=translate(error.detail),
            status=422,
        )
    unmatched = len(emails) - len(ids)
    flash(
        ngettext("%(num)d contact changed.", "%(num)d contacts changed.", changed)
        + " "
        + ngettext("%(num)d address matched no contact.", "%(num)d addresses matched no contact.", unmatched)
    )
    return redirect(url_for("marketing.show_segment", segment_id=segment.id))


@pages.post("/marketing/segments/<uuid:segment_id>/delete")
def delete_segment(segment_id: uuid.UUID):
    session = current_tenant_session()
    try:
        segments.delete_segment(session, segment_id)
    except ValidationError as error:
        session.rollback()
        return _render_segment(
            segments.get_segment(session, segment_id), message=translate(error.detail), status=422
        )
    flash(gettext("Segment deleted."))
    return redirect(url_for("marketing.list_segments"))
