"""Modules without a merge hook of their own (marketing, service) lose nothing in a merge: their foreign
keys to the merged contact move to the survivor; where moving would duplicate a row (both contacts received
the same campaign) the whole merge is refused and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.errors import Conflict
from saas.modules.core import services
from saas.modules.core.merge import CONTACT_KIND, merge_records
from saas.modules.core.models import Contact
from saas.modules.marketing.models import Campaign, CampaignRecipient, Segment
from saas.modules.service.models import Ticket
from saas.modules.service.queues import default_queue


def _campaign(session) -> Campaign:
    segment = Segment(name="All", kind="static", rules=[])
    session.add(segment)
    session.flush()
    campaign = Campaign(
        name="News", subject="Hi", html_body="<p>Hi</p>", text_body="Hi", segment_id=segment.id,
        status="sent", base_url="https://crm.example", audience={},
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    return campaign


def _recipient(campaign: Campaign, contact: Contact) -> CampaignRecipient:
    return CampaignRecipient(
        campaign_id=campaign.id, contact_id=contact.id, email=contact.email, status="sent"
    )


def test_tickets_and_campaign_recipients_follow_the_survivor(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        keep = services.contacts.create(session, {"last_name": "Keep", "email": "k@x.example"})
        dupe = services.contacts.create(session, {"last_name": "Dupe", "email": "d@x.example"})
        campaign = _campaign(session)
        session.add(_recipient(campaign, dupe))
        session.add(
            Ticket(subject="Broken", description="x", status="open", priority="normal", channel="email",
                   requester_contact_id=dupe.id, queue_id=default_queue(session).id, tags=[])
        )  # fmt: skip
        session.flush()
        result = merge_records(session, CONTACT_KIND, keep.id, dupe.id)
        assert result.moved["campaign_recipients"] == 1 and result.moved["tickets"] == 1
        assert session.scalar(select(CampaignRecipient.contact_id)) == keep.id
        assert session.scalar(select(Ticket.requester_contact_id)) == keep.id


def test_a_merge_that_would_duplicate_a_campaign_recipient_is_refused_whole(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        keep = services.contacts.create(session, {"last_name": "Keep", "email": "k@x.example"})
        dupe = services.contacts.create(session, {"last_name": "Dupe", "email": "d@x.example"})
        campaign = _campaign(session)
        session.add_all([_recipient(campaign, keep), _recipient(campaign, dupe)])
        session.flush()
        keep_id, dupe_id = keep.id, dupe.id
        with pytest.raises(Conflict) as refusal:
            merge_records(session, CONTACT_KIND, keep_id, dupe_id)
        assert "campaign_recipients" in refusal.value.detail
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, dupe_id) is not None
        owners = session.scalars(select(CampaignRecipient.contact_id)).all()
        assert sorted(owners) == sorted([keep_id, dupe_id])
