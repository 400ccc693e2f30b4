"""What the marketing module holds on a person (campaign deliveries, their tracking, form submissions,
static list memberships) and how it erases them (privacy registry hooks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from saas.modules.marketing.ab_tests import ARM_LETTERS, message_content
from saas.modules.marketing.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    FormSubmission,
    MarketingForm,
    Segment,
    SegmentMember,
)
from saas.modules.registry import DataSubject


def personal_data(session: Session, subject: DataSubject) -> dict:
    deliveries = session.execute(
        select(CampaignRecipient, Campaign)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(CampaignRecipient.contact_id == subject.contact_id)
        .order_by(CampaignRecipient.id)
    ).all()
    events = session.execute(
        select(CampaignEvent.kind, CampaignEvent.occurred_at, CampaignEvent.recipient_id)
        .join(CampaignRecipient, CampaignRecipient.id == CampaignEvent.recipient_id)
        .where(CampaignRecipient.contact_id == subject.contact_id)
        .order_by(CampaignEvent.id)
    ).all()
    by_recipient: dict[int, list[dict]] = {}
    for kind, at, recipient_id in events:
        by_recipient.setdefault(recipient_id, []).append({"kind": kind, "at": at})
    submissions = session.execute(
        select(MarketingForm.name, FormSubmission.submitted_at, FormSubmission.consents)
        .join(MarketingForm, MarketingForm.id == FormSubmission.form_id)
        .where(FormSubmission.contact_id == subject.contact_id)
        .order_by(FormSubmission.id)
    ).all()
    lists = session.scalars(
        select(Segment.name)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.contact_id == subject.contact_id)
        .order_by(Segment.name)
    ).all()
    return {
        "emails": [
            {
                "campaign": campaign.name,
                # The subject they were sent: their language's, their A/B arm's or the winner's, or the
                # campaign's own.
                "subject": message_content(campaign, r.locale, r.ab_arm).subject,
                "email": r.email,
                "language": r.locale,
                "ab_test_arm": ARM_LETTERS[r.ab_arm] if r.ab_arm is not None else None,
                "status": r.status,
                "sent_at": r.sent_at,
                "opened_at": r.opened_at,
                "clicked_at": r.clicked_at,
                "unsubscribed_at": r.unsubscribed_at,
                "tracking": by_recipient.get(r.id, []),
            }
            for r, campaign in deliveries
        ],
        "form_submissions": [{"form": n, "at": at, "consents": c} for n, at, c in submissions],
        "lists": list(lists),
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Their deliveries go with their tracking (the campaign's totals shrink by one person)."""
    recipients = select(CampaignRecipient.id).where(CampaignRecipient.contact_id == subject.contact_id)
    events = session.execute(delete(CampaignEvent).where(CampaignEvent.recipient_id.in_(recipients))).rowcount
    deliveries = session.execute(
        delete(CampaignRecipient).where(CampaignRecipient.contact_id == subject.contact_id)
    ).rowcount
    submissions = session.execute(
        delete(FormSubmission).where(FormSubmission.contact_id == subject.contact_id)
    ).rowcount
    members = session.execute(
        delete(SegmentMember).where(SegmentMember.contact_id == subject.contact_id)
    ).rowcount
    return {
        "campaign_events": events,
        "campaign_recipients": deliveries,
        "marketing_form_submissions": submissions,
        "segment_members": members,
    }


def retention_keep(cutoff: datetime) -> list[Select]:
    """People who opened, clicked or submitted a form since the cutoff are active."""
    return [
        select(CampaignRecipient.contact_id)
        .join(CampaignEvent, CampaignEvent.recipient_id == CampaignRecipient.id)
        .where(CampaignEvent.occurred_at >= cutoff),
        select(FormSubmission.contact_id).where(
            FormSubmission.contact_id.is_not(None), FormSubmission.submitted_at >= cutoff
        ),
    ]
