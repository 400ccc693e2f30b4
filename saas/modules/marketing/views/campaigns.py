"""Campaign pages: list, edit, schedule, test, cancel, delete and the report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import SaasError, ValidationError
from saas.i18n import LANGUAGES, N_, translate
from saas.modules.marketing import campaigns, segments
from saas.modules.marketing.ab_tests import ARM_FIELDS
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import pages
from saas.modules.marketing.charts import report_chart
from saas.modules.marketing.models import Segment
from saas.tenants.routing import current_tenant_session

STATUS_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "cancelled": N_("Cancelled"),
}
"""A campaign's status as staff read it; translated where shown (``{{ _(status_labels[...]) }}``)."""


@pages.context_processor
def _campaign_labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "languages": LANGUAGES}


def _segment_choices() -> list[Segment]:
    return segments.list_segments(current_tenant_session())


@pages.get("/marketing/")
def list_campaigns():
    session = current_tenant_session()
    return render_template(
        "marketing/campaigns.html",
        campaigns=campaigns.list_campaigns(session),
        settings=campaigns.get_settings(session),
    )


VARIANT_FIELDS = ("locale", "subject", "html_body", "text_body")


def _campaign_form() -> dict[str, Any]:
    data = {k: request.form.get(k, "") for k in ("name", "subject", "html_body", "text_body")}
    data["segment_id"] = uuid_or_none(request.form.get("segment_id"))
    if "variant_rows" in request.form:  # a form without the rows (an older page) keeps the variants
        data["variants"] = _variants_form()
    if "ab_form" in request.form:  # likewise the A/B test
        data["ab_test"] = _ab_test_form() if request.form.get("ab_enabled") else None
    return data


AB_ARM_ROWS = 4


def _ab_test_form() -> dict[str, Any]:
    """The A/B test as typed; arm rows left blank are not arms (so A and B may be the first two)."""
    arms = [
        {name: request.form.get(f"ab_arm_{index}_{name}", "") for name in ARM_FIELDS}
        for index in range(AB_ARM_ROWS)
    ]
    return {
        "sample_percent": request.form.get("ab_sample_percent", ""),
        "wait_hours": request.form.get("ab_wait_hours", ""),
        "metric": request.form.get("ab_metric", ""),
        "arms": [arm for arm in arms if any(value.strip() for value in arm.values())],
    }


def _ab_test_rows(campaign, form) -> dict[str, Any]:
    """What the A/B test fieldset shows: as typed when the form comes back, else as stored, else the
    defaults; always four arm rows."""
    if form is not None and "ab_form" in form:
        typed = _ab_test_form() | {"enabled": bool(form.get("ab_enabled"))}
        typed["arms"] = [
            {name: form.get(f"ab_arm_{index}_{name}", "") for name in ARM_FIELDS}
            for index in range(AB_ARM_ROWS)
        ]
        return typed
    test = campaign.ab_test if campaign else None
    if test is None:
        return {"enabled": False, "sample_percent": 20, "wait_hours": 4, "metric": "opens",
                "arms": [{}] * AB_ARM_ROWS}  # fmt: skip
    return {
        "enabled": True,
        "sample_percent": test.sample_percent,
        "wait_hours": test.wait_hours,
        "metric": test.metric,
        "arms": [*test.arms, *[{}] * (AB_ARM_ROWS - len(test.arms))],
    }


def _variants_form() -> list[dict[str, str]]:
    """The language variants as typed: the page's rows, minus blank ones and those marked for removal."""
    rows = request.form.get("variant_rows", "0")
    variants = []
    for index in range(min(int(rows) if rows.isdigit() else 0, len(LANGUAGES) + 1)):
        row = {name: request.form.get(f"variant_{index}_{name}", "") for name in VARIANT_FIELDS}
        if request.form.get(f"variant_{index}_remove") or not any(value.strip() for value in row.values()):
            continue
        variants.append(row)
    return variants


def uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise ValidationError(
            gettext("Unknown segment."), {"segment_id": [gettext("Choose a segment.")]}
        ) from None


def _variant_rows(campaign, form) -> list[dict[str, str]]:
    """The variants the page shows: as typed when the form comes back, else as stored; one blank row
    to add a language while one is left."""
    if form is not None and "variant_rows" in form:
        rows = _variants_form()
    else:
        rows = (
            [{name: getattr(v, name) for name in VARIANT_FIELDS} for v in campaign.variants]
            if campaign
            else []
        )
    return rows + ([{}] if len(rows) < len(LANGUAGES) else [])


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
        variants=_variant_rows(campaign, form),
        ab_test=_ab_test_rows(campaign, form),
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
            None, errors=error.errors, message=translate(error.detail), form=request.form, status=422
        )
    flash(gettext("Campaign saved as a draft."))
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
            campaign, errors=errors, message=translate(error.detail), form=request.form, status=error.status
        )
    flash(done)
    return redirect(url_for("marketing.show_campaign", campaign_id=campaign_id))


@pages.post("/marketing/campaigns/<uuid:campaign_id>")
def update_campaign(campaign_id: uuid.UUID):
    return _campaign_action(
        campaign_id,
        lambda s, c: campaigns.update_campaign(s, c.id, _campaign_form()),
        gettext("Campaign saved."),
    )


def _send_at() -> datetime | None:
    if request.form.get("when") != "later":
        return None
    try:
        return datetime.fromisoformat(request.form.get("send_at", ""))
    except ValueError:
        raise ValidationError(
            gettext("Choose when to send."), {"send_at": [gettext("Choose a date and time.")]}
        ) from None


@pages.post("/marketing/campaigns/<uuid:campaign_id>/schedule")
def schedule_campaign(campaign_id: uuid.UUID):
    def schedule(session, campaign):
        scheduled = campaigns.schedule_campaign(session, campaign.id, _send_at(), request.host_url)
        audit_marketing(session, "campaign.scheduled", scheduled)

    return _campaign_action(campaign_id, schedule, gettext("Campaign scheduled."))


@pages.post("/marketing/campaigns/<uuid:campaign_id>/cancel")
def cancel_campaign(campaign_id: uuid.UUID):
    def cancel(session, campaign):
        audit_marketing(session, "campaign.cancelled", campaigns.cancel_campaign(session, campaign.id))

    return _campaign_action(campaign_id, cancel, gettext("Campaign cancelled."))


@pages.post("/marketing/campaigns/<uuid:campaign_id>/test")
def test_campaign(campaign_id: uuid.UUID):
    return _campaign_action(
        campaign_id,
        lambda s, c: campaigns.request_test_send(s, c.id, request.form.get("to"), request.form.get("locale")),
        gettext("Test message queued."),
    )


@pages.post("/marketing/campaigns/<uuid:campaign_id>/delete")
def delete_campaign(campaign_id: uuid.UUID):
    result = _campaign_action(
        campaign_id, lambda s, c: campaigns.delete_campaign(s, c.id), gettext("Campaign deleted.")
    )
    if isinstance(result, tuple):
        return result
    return redirect(url_for("marketing.list_campaigns"))


@pages.get("/marketing/campaigns/<uuid:campaign_id>/report")
def campaign_report(campaign_id: uuid.UUID):
    session = current_tenant_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    report = campaigns.campaign_report(session, campaign.id, revenue=True)
    return render_template(
        "marketing/report.html", campaign=campaign, report=report, chart=report_chart(report.timeline)
    )
