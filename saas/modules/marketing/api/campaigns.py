"""``/api/v1/marketing/campaigns``: campaigns, scheduling, tests and reports."""

from __future__ import annotations

import uuid

from flask import request

from saas.api import token_auth
from saas.modules.marketing import attribution, campaigns
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import api
from saas.modules.marketing.schemas import (
    AttributionOut,
    CampaignIn,
    CampaignList,
    CampaignOut,
    ReportOut,
    ScheduleIn,
    TestSendIn,
    TestSendOut,
)
from saas.tenants.routing import current_tenant_session

P = "/marketing"


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
    queued = campaigns.request_test_send(
        current_tenant_session(), campaign_id, json_data["to"], json_data.get("locale")
    )
    return {"queued_to": queued}


@api.get(f"{P}/campaigns/<uuid:campaign_id>/report")
@api.auth_required(token_auth)
@api.output(ReportOut)
@api.doc(
    summary="Sent, delivered, opened, clicked, unsubscribed, and per hour; the A/B test; won-deal revenue",
    responses=[404],
)
def campaign_report(campaign_id: uuid.UUID):
    return campaigns.campaign_report(current_tenant_session(), campaign_id, revenue=True).as_dict()


@api.get(f"{P}/attribution")
@api.auth_required(token_auth)
@api.output(AttributionOut)
@api.doc(summary="Won-deal revenue by first and last touch: campaigns, forms and website sources")
def attribution_report():
    return attribution.attribution(current_tenant_session()).as_dict()
