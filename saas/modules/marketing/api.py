"""API resources under /api/v1/marketing/: segments, campaigns, sender settings, forms; thin wrappers
over the services."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request, url_for

from saas.api import token_auth
from saas.errors import NotFound
from saas.modules.marketing import campaigns, forms, segments
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import api
from saas.modules.marketing.schemas import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    FormIn,
    FormList,
    FormOut,
    MembersIn,
    MembersOut,
    ReportOut,
    ScheduleIn,
    SegmentCount,
    SegmentIn,
    SegmentList,
    SegmentOut,
    SettingsIn,
    SettingsOut,
    TestSendIn,
    TestSendOut,
)
from saas.modules.privacy.audit import commit_audit_with_response
from saas.tenants.routing import current_tenant_session, require_role

P = "/marketing"
# Audit entries (schedule, cancel, settings) commit only with a successful answer.
api.after_request(commit_audit_with_response)


# --- segments ----------------------------------------------------------------------------------------


@api.get(f"{P}/segments")
@api.auth_required(token_auth)
@api.output(SegmentList)
@api.doc(summary="List segments")
def list_segments():
    return {"data": segments.list_segments(current_tenant_session())}


@api.post(f"{P}/segments")
@api.auth_required(token_auth)
@api.input(SegmentIn)
@api.output(SegmentOut, status_code=201)
@api.doc(
    summary="Create a segment",
    description="Rules are re-evaluated whenever the segment is used.",
    responses=[422],
)
def create_segment(json_data: dict):
    return segments.create_segment(current_tenant_session(), json_data)


@api.get(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.output(SegmentOut)
@api.doc(summary="Read a segment", responses=[404])
def get_segment(segment_id: uuid.UUID):
    return segments.get_segment(current_tenant_session(), segment_id)


@api.patch(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.input(SegmentIn(partial=True))
@api.output(SegmentOut)
@api.doc(summary="Update a segment", responses=[404, 422])
def update_segment(segment_id: uuid.UUID, json_data: dict):
    return segments.update_segment(current_tenant_session(), segment_id, json_data)


@api.delete(f"{P}/segments/<uuid:segment_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a segment", responses=[404, 422])
def delete_segment(segment_id: uuid.UUID):
    segments.delete_segment(current_tenant_session(), segment_id)
    return ""


@api.get(f"{P}/segments/<uuid:segment_id>/count")
@api.auth_required(token_auth)
@api.output(SegmentCount)
@api.doc(summary="Count a segment now, with a preview of its first contacts", responses=[404])
def count_segment(segment_id: uuid.UUID):
    session = current_tenant_session()
    count, preview = segments.count_and_preview(session, segments.get_segment(session, segment_id))
    return {"count": count, "preview": preview}


@api.post(f"{P}/segments/<uuid:segment_id>/members")
@api.auth_required(token_auth)
@api.input(MembersIn)
@api.output(MembersOut)
@api.doc(summary="Add contacts to (or with remove, take them off) a static list", responses=[404, 422])
def change_members(segment_id: uuid.UUID, json_data: dict):
    changed = segments.set_members(
        current_tenant_session(), segment_id, json_data["contact_ids"], add=not json_data["remove"]
    )
    return {"changed": changed}


# --- campaigns ---------------------------------------------------------------------------------------


@api.get(f"{P}/campaigns")
@api.auth_required(token_auth)
@api.output(CampaignList)
@api.doc(summary="List campaigns")
def list_campaigns():
    return {"data": campaigns.list_campaigns(current_tenant_session())}


@api.post(f"{P}/campaigns")
@api.auth_required(token_auth)
@api.input(CampaignIn)
@api.output(CampaignOut, status_code=201)
@api.doc(summary="Create a draft campaign", responses=[422])
def create_campaign(json_data: dict):
    return campaigns.create_campaign(current_tenant_session(), json_data)


@api.get(f"{P}/campaigns/<uuid:campaign_id>")
@api.auth_required(token_auth)
@api.output(CampaignOut)
@api.doc(summary="Read a campaign", responses=[404])
def get_campaign(campaign_id: uuid.UUID):
    return campaigns.get_campaign(current_tenant_session(), campaign_id)


@api.patch(f"{P}/campaigns/<uuid:campaign_id>")
@api.auth_required(token_auth)
@api.input(CampaignIn(partial=True))
@api.output(CampaignOut)
@api.doc(summary="Update a draft or scheduled campaign", responses=[404, 409, 422])
def update_campaign(campaign_id: uuid.UUID, json_data: dict):
    return campaigns.update_campaign(current_tenant_session(), campaign_id, json_data)


@api.delete(f"{P}/campaigns/<uuid:campaign_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a campaign that was never sent", responses=[404, 409])
def delete_campaign(campaign_id: uuid.UUID):
    campaigns.delete_campaign(current_tenant_session(), campaign_id)
    return ""


@api.post(f"{P}/campaigns/<uuid:campaign_id>/schedule")
@api.auth_required(token_auth)
@api.input(ScheduleIn)
@api.output(CampaignOut)
@api.doc(summary="Send now, or at a time", responses=[404, 409, 422])
def schedule_campaign(campaign_id: uuid.UUID, json_data: dict):
    session = current_tenant_session()
    campaign = campaigns.schedule_campaign(session, campaign_id, json_data["send_at"], request.host_url)
    audit_marketing(session, "campaign.scheduled", campaign)
    return campaign


@api.post(f"{P}/campaigns/<uuid:campaign_id>/cancel")
@api.auth_required(token_auth)
@api.output(CampaignOut)
@api.doc(summary="Cancel a campaign before it is sent", responses=[404, 409])
def cancel_campaign(campaign_id: uuid.UUID):
    session = current_tenant_session()
    campaign = campaigns.cancel_campaign(session, campaign_id)
    audit_marketing(session, "campaign.cancelled", campaign)
    return campaign


@api.post(f"{P}/campaigns/<uuid:campaign_id>/test")
@api.auth_required(token_auth)
@api.input(TestSendIn)
@api.output(TestSendOut, status_code=202)
@api.doc(summary="Mail an untracked test copy to one address", responses=[404, 422])
def test_send(campaign_id: uuid.UUID, json_data: dict):
    return {"queued_to": campaigns.request_test_send(current_tenant_session(), campaign_id, json_data["to"])}


@api.get(f"{P}/campaigns/<uuid:campaign_id>/report")
@api.auth_required(token_auth)
@api.output(ReportOut)
@api.doc(summary="Sent, delivered, opened, clicked, unsubscribed, and per hour", responses=[404])
def campaign_report(campaign_id: uuid.UUID):
    return campaigns.campaign_report(current_tenant_session(), campaign_id).as_dict()


# --- sender settings ---------------------------------------------------------------------------------


@api.get(f"{P}/settings")
@api.auth_required(token_auth)
@api.output(SettingsOut)
@api.doc(summary="The sender identity and time zone", responses=[404])
def get_settings():
    settings = campaigns.get_settings(current_tenant_session())
    if settings is None:
        raise NotFound("No sender is set yet.")
    return settings


@api.put(f"{P}/settings")
@api.auth_required(token_auth)
@api.input(SettingsIn)
@api.output(SettingsOut)
@api.doc(summary="Set the sender identity and time zone (owners and admins)", responses=[403, 422])
def put_settings(json_data: dict):
    require_role("owner", "admin")
    session = current_tenant_session()
    settings = campaigns.save_settings(session, json_data)
    audit_marketing(session, "settings.changed", None, {"time_zone": settings.time_zone})
    return settings


# --- forms -------------------------------------------------------------------------------------------


def _form_out(form: Any) -> dict[str, Any]:
    session = current_tenant_session()
    token = forms.form_token(session.tenant.id, form.id)
    url = url_for("marketing_public.show_form", slug=session.tenant.slug, token=token, _external=True)
    return {**{c: getattr(form, c) for c in FormOut().fields if c != "public_url"}, "public_url": url}


@api.get(f"{P}/forms")
@api.auth_required(token_auth)
@api.output(FormList)
@api.doc(summary="List lead-capture forms")
def list_forms():
    return {"data": [_form_out(f) for f in forms.list_forms(current_tenant_session())]}


@api.post(f"{P}/forms")
@api.auth_required(token_auth)
@api.input(FormIn)
@api.output(FormOut, status_code=201)
@api.doc(summary="Create a lead-capture form", responses=[422])
def create_form(json_data: dict):
    return _form_out(forms.create_form(current_tenant_session(), json_data))


@api.get(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.output(FormOut)
@api.doc(summary="Read a form, with its public link", responses=[404])
def get_form(marketing_form_id: uuid.UUID):
    return _form_out(forms.get_form(current_tenant_session(), marketing_form_id))


@api.patch(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.input(FormIn(partial=True))
@api.output(FormOut)
@api.doc(summary="Update a form", responses=[404, 422])
def update_form(marketing_form_id: uuid.UUID, json_data: dict):
    return _form_out(forms.update_form(current_tenant_session(), marketing_form_id, json_data))


@api.delete(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a form", responses=[404])
def delete_form(marketing_form_id: uuid.UUID):
    forms.delete_form(current_tenant_session(), marketing_form_id)
    return ""
