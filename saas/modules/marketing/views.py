"""Marketing pages under /t/<slug>/marketing/: campaigns (edit, schedule, test, cancel, report),
segments (rules with a live count and preview, static lists), forms and sender settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from saas.errors import SaasError, ValidationError
from saas.modules.core.models import Contact
from saas.modules.marketing import campaigns, forms, segments
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import pages
from saas.modules.marketing.charts import report_chart
from saas.modules.marketing.models import Segment
from saas.modules.privacy.audit import commit_audit_with_response
from saas.modules.privacy.consent import list_purposes
from saas.tenants.routing import current_tenant_session, require_role

pages.after_request(commit_audit_with_response)
RULE_ROWS = 6
NEW_FORM = {"fields": ["first_name", "last_name", "email"], "create_lead": True, "enabled": True}
OP_LABELS = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "is_set": "is set",
    "is_not_set": "is empty",
    "within_days": "within the last (days)",
    "not_within_days": "not within the last (days)",
}


def _segment_choices() -> list[Segment]:
    return segments.list_segments(current_tenant_session())


# --- campaigns ---------------------------------------------------------------------------------------


@pages.get("/marketing/")
def list_campaigns():
    session = current_tenant_session()
    return render_template(
        "marketing/campaigns.html",
        campaigns=campaigns.list_campaigns(session),
        settings=campaigns.get_settings(session),
    )


def _campaign_form() -> dict[str, Any]:
    data = {k: request.form.get(k, "") for k in ("name", "subject", "html_body", "text_body")}
    data["segment_id"] = _uuid_or_none(request.form.get("segment_id"))
    return data


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise ValidationError("Unknown segment.", {"segment_id": ["Choose a segment."]}) from None


def _render_campaign(campaign, *, errors=None, message=None, form=None, status=200):
    session = current_tenant_session()
    report = campaigns.campaign_report(session, campaign.id) if campaign and campaign.id else None
    zone = campaigns.tenant_zone(session)
    return render_template(
        "marketing/campaign.html",
        campaign=campaign,
        segments=_segment_choices(),
        errors=errors or {},
        message=message,
        form=form,
        report=report,
        zone=zone,
        merge_fields=campaigns_merge_fields(),
    ), status


def campaigns_merge_fields() -> tuple[str, ...]:
    from saas.modules.marketing.content import MERGE_FIELDS

    return MERGE_FIELDS


@pages.get("/marketing/campaigns/new")
def new_campaign():
    return _render_campaign(None)


@pages.post("/marketing/campaigns/new")
def create_campaign():
    session = current_tenant_session()
    try:
        campaign = campaigns.create_campaign(session, _campaign_form())
    except ValidationError as error:
        return _render_campaign(
            None, errors=error.errors, message=error.detail, form=request.form, status=422
        )
    flash("Campaign saved as a draft.")
    return redirect(url_for("marketing.show_campaign", campaign_id=campaign.id))


@pages.get("/marketing/campaigns/<uuid:campaign_id>")
def show_campaign(campaign_id: uuid.UUID):
    return _render_campaign(campaigns.get_campaign(current_tenant_session(), campaign_id))


def _campaign_action(campaign_id: uuid.UUID, action, done: str):
    session = current_tenant_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    try:
        action(session, campaign)
    except SaasError as error:
        session.rollback()
        errors = error.errors if isinstance(error, ValidationError) else {}
        campaign = campaigns.get_campaign(session, campaign_id)
        return _render_campaign(
            campaign, errors=errors, message=error.detail, form=request.form, status=error.status
        )
    flash(done)
    return redirect(url_for("marketing.show_campaign", campaign_id=campaign_id))


@pages.post("/marketing/campaigns/<uuid:campaign_id>")
def update_campaign(campaign_id: uuid.UUID):
    return _campaign_action(
        campaign_id, lambda s, c: campaigns.update_campaign(s, c.id, _campaign_form()), "Campaign saved."
    )


def _send_at() -> datetime | None:
    if request.form.get("when") != "later":
        return None
    try:
        return datetime.fromisoformat(request.form.get("send_at", ""))
    except ValueError:
        raise ValidationError("Choose when to send.", {"send_at": ["Choose a date and time."]}) from None


@pages.post("/marketing/campaigns/<uuid:campaign_id>/schedule")
def schedule_campaign(campaign_id: uuid.UUID):
    def schedule(session, campaign):
        scheduled = campaigns.schedule_campaign(session, campaign.id, _send_at(), request.host_url)
        audit_marketing(session, "campaign.scheduled", scheduled)

    return _campaign_action(campaign_id, schedule, "Campaign scheduled.")


@pages.post("/marketing/campaigns/<uuid:campaign_id>/cancel")
def cancel_campaign(campaign_id: uuid.UUID):
    def cancel(session, campaign):
        audit_marketing(session, "campaign.cancelled", campaigns.cancel_campaign(session, campaign.id))

    return _campaign_action(campaign_id, cancel, "Campaign cancelled.")


@pages.post("/marketing/campaigns/<uuid:campaign_id>/test")
def test_campaign(campaign_id: uuid.UUID):
    return _campaign_action(
        campaign_id,
        lambda s, c: campaigns.request_test_send(s, c.id, request.form.get("to")),
        "Test message queued.",
    )


@pages.post("/marketing/campaigns/<uuid:campaign_id>/delete")
def delete_campaign(campaign_id: uuid.UUID):
    result = _campaign_action(
        campaign_id, lambda s, c: campaigns.delete_campaign(s, c.id), "Campaign deleted."
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("marketing.list_campaigns"))


@pages.get("/marketing/campaigns/<uuid:campaign_id>/report")
def campaign_report(campaign_id: uuid.UUID):
    session = current_tenant_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    report = campaigns.campaign_report(session, campaign.id)
    return render_template(
        "marketing/report.html", campaign=campaign, report=report, chart=report_chart(report.timeline)
    )


# --- segments ----------------------------------------------------------------------------------------


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
    return render_template(
        "marketing/segment.html",
        segment=segment,
        form=form or {},
        rules=list(rules or []) + [{}] * RULE_ROWS,
        rule_rows=RULE_ROWS,
        fields=segments.FIELDS,
        op_labels=OP_LABELS,
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
        return _render_segment(None, form=form, errors=error.errors, message=error.detail, status=422)
    count, preview = segments.count_and_preview(session, draft)
    segment_id = _uuid_or_none(request.args.get("segment_id"))
    segment = session.get(Segment, segment_id) if segment_id else None
    return _render_segment(segment, form=form, count=count, preview=preview)


@pages.post("/marketing/segments/new")
def create_segment():
    try:
        segment = segments.create_segment(current_tenant_session(), _segment_form())
    except ValidationError as error:
        return _render_segment(
            None, form=_segment_form(), errors=error.errors, message=error.detail, status=422
        )
    flash("Segment saved.")
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
            segment, form=_segment_form(), errors=error.errors, message=error.detail, status=422
        )
    flash("Segment saved.")
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
            segments.get_segment(session, segment_id), errors=error.errors, message=error.detail, status=422
        )
    flash(f"{changed} contact(s) changed; {len(emails) - len(ids)} address(es) matched no contact.")
    return redirect(url_for("marketing.show_segment", segment_id=segment.id))


@pages.post("/marketing/segments/<uuid:segment_id>/delete")
def delete_segment(segment_id: uuid.UUID):
    session = current_tenant_session()
    try:
        segments.delete_segment(session, segment_id)
    except ValidationError as error:
        session.rollback()
        return _render_segment(segments.get_segment(session, segment_id), message=error.detail, status=422)
    flash("Segment deleted.")
    return redirect(url_for("marketing.list_segments"))


# --- forms -------------------------------------------------------------------------------------------


def _form_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "fields": request.form.getlist("fields"),
        "purposes": request.form.getlist("purposes"),
        "create_lead": request.form.get("create_lead") == "1",
        "thank_you": request.form.get("thank_you", ""),
        "enabled": request.form.get("enabled") == "1",
    }


def _render_form(form, *, errors=None, message=None, data=None, status=200):
    session = current_tenant_session()
    public_url = count = None
    if form is not None:
        token = forms.form_token(session.tenant.id, form.id)
        public_url = url_for(
            "marketing_public.show_form", slug=session.tenant.slug, token=token, _external=True
        )
        count = forms.submission_count(session, form.id)
    return render_template(
        "marketing/form.html",
        form=form,
        data=data or (forms._as_data(form) if form else NEW_FORM),
        all_fields=forms.FORM_FIELDS,
        purposes=list_purposes(session),
        errors=errors or {},
        message=message,
        public_url=public_url,
        submissions=count,
    ), status


@pages.get("/marketing/forms")
def list_forms():
    return render_template("marketing/forms.html", forms=forms.list_forms(current_tenant_session()))


@pages.get("/marketing/forms/new")
def new_form():
    return _render_form(None)


@pages.post("/marketing/forms/new")
def create_form():
    try:
        form = forms.create_form(current_tenant_session(), _form_data())
    except ValidationError as error:
        return _render_form(None, errors=error.errors, message=error.detail, data=_form_data(), status=422)
    flash("Form saved.")
    return redirect(url_for("marketing.show_form", marketing_form_id=form.id))


@pages.get("/marketing/forms/<uuid:marketing_form_id>")
def show_form(marketing_form_id: uuid.UUID):
    return _render_form(forms.get_form(current_tenant_session(), marketing_form_id))


@pages.post("/marketing/forms/<uuid:marketing_form_id>")
def update_form(marketing_form_id: uuid.UUID):
    session = current_tenant_session()
    form = forms.get_form(session, marketing_form_id)
    try:
        forms.update_form(session, form.id, _form_data())
    except ValidationError as error:
        session.rollback()
        return _render_form(
            forms.get_form(session, marketing_form_id),
            errors=error.errors,
            message=error.detail,
            data=_form_data(),
            status=422,
        )
    flash("Form saved.")
    return redirect(url_for("marketing.show_form", marketing_form_id=form.id))


# --- settings ----------------------------------------------------------------------------------------


@pages.get("/marketing/settings")
def settings_page():
    require_role("owner", "admin")
    return render_template(
        "marketing/settings.html",
        settings=campaigns.get_settings(current_tenant_session()),
        errors={},
        form=None,
    )


@pages.post("/marketing/settings")
def save_settings():
    require_role("owner", "admin")
    session = current_tenant_session()
    try:
        settings = campaigns.save_settings(session, request.form.to_dict())
    except ValidationError as error:
        page = render_template(
            "marketing/settings.html",
            settings=None,
            errors=error.errors,
            form=request.form,
            message=error.detail,
        )
        return page, 422
    audit_marketing(session, "settings.changed", None, {"time_zone": settings.time_zone})
    flash("Sender settings saved.")
    return redirect(url_for("marketing.settings_page"))
