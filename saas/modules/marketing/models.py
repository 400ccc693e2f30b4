"""Tables of the marketing module (tenant schema): segments, campaigns and their recipients, tracking
events, sender settings and public lead-capture forms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantBase
from saas.modules.core.models import Timestamps

SEGMENT_KINDS = ("rules", "static")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
RECIPIENT_STATUSES = ("queued", "sending", "sent", "bounced", "failed", "held")
"""``held``: the rest of an A/B-tested campaign's audience, waiting for the winner."""
AB_METRICS = ("opens", "clicks")
AB_DECISIONS = ("best_rate", "tie", "no_data")
ARM_LETTERS = "ABCD"
"""A/B test arms as people name them; index 0 is A."""
EVENT_KINDS = ("open", "click", "unsubscribe")
_CLOCK = text("clock_timestamp()")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class MarketingSettings(TenantBase):
    """One row per tenant: who campaigns come from, and the time zone schedules are written in."""

    __tablename__ = "marketing_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1, autoincrement=False)
    from_name: Mapped[str] = mapped_column(String(100))
    from_email: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    postal_address: Mapped[str | None] = mapped_column(String(300))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")


class Segment(Timestamps, TenantBase):
    """A saved audience: rules re-evaluated whenever it is used, or a static list of contacts."""

    __tablename__ = "segments"
    __table_args__ = (CheckConstraint(f"kind IN {_in(SEGMENT_KINDS)}", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="rules")
    match: Mapped[str] = mapped_column(String(3), default="all")  # all / any of the rules
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class SegmentMember(TenantBase):
    """A contact on a static list."""

    __tablename__ = "segment_members"

    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Campaign(Timestamps, TenantBase):
    """An email to a segment; its audience is fixed (snapshotted) when sending starts."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(f"status IN {_in(CAMPAIGN_STATUSES)}", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    html_body: Mapped[str] = mapped_column(Text, default="")
    """Sanitised (nh3) when saved, with ``{{ merge_fields }}``."""
    text_body: Mapped[str] = mapped_column(Text, default="")
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    base_url: Mapped[str | None] = mapped_column(String(300))
    """Where the tracking and unsubscribe links point (the host the campaign was scheduled on)."""
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audience: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    """Counts of the snapshot: in the segment, without email, without consent, suppressed, queued."""

    links: Mapped[list[CampaignLink]] = relationship(
        order_by="CampaignLink.position", cascade="all, delete-orphan"
    )
    variants: Mapped[list[CampaignVariant]] = relationship(
        order_by="CampaignVariant.locale", cascade="all, delete-orphan"
    )
    ab_test: Mapped[CampaignABTest | None] = relationship(cascade="all, delete-orphan")


Index("ix_campaigns_status_scheduled_at", Campaign.status, Campaign.scheduled_at)


class CampaignVariant(TenantBase):
    """The campaign in one more language: recipients whose contact prefers ``locale`` get this subject
    and body instead of the campaign's own (the default variant)."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(16))
    """A supported locale code (``saas.i18n.LANGUAGES``), as contacts' ``preferred_locale`` holds it."""
    subject: Mapped[str] = mapped_column(String(200))
    html_body: Mapped[str] = mapped_column(Text, default="")
    """Sanitised (nh3) when saved, like the campaign's own."""
    text_body: Mapped[str] = mapped_column(Text, default="")


class CampaignABTest(TenantBase):
    """An A/B test of a campaign: its arms go to a random sample; after ``wait_hours`` the arm with the
    best open or click rate goes to the rest. Arms replace the campaign's own (default-language)
    content only: recipients given a language variant are outside the test and get their language."""

    __tablename__ = "campaign_ab_tests"
    __table_args__ = (
        CheckConstraint("sample_percent BETWEEN 1 AND 90", name="sample_percent"),
        CheckConstraint(f"metric IN {_in(AB_METRICS)}", name="metric"),
        CheckConstraint("wait_hours BETWEEN 1 AND 720", name="wait_hours"),
        CheckConstraint(f"decision IN {_in(AB_DECISIONS)}", name="decision"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    sample_percent: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(10))
    wait_hours: Mapped[int] = mapped_column(Integer)
    arms: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    """Two to four ``{subject, html_body, text_body}`` (A, B, …); an empty part is the campaign's own."""
    seed: Mapped[int] = mapped_column(BigInteger)
    """Orders the audience for the sample and the split: the same seed, the same arms."""
    decide_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when the sample is snapshotted: the time the winner is chosen."""
    winner: Mapped[int | None] = mapped_column(Integer)
    """The winning arm's index (0 is A)."""
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def winner_arm(self) -> str | None:
        return ARM_LETTERS[self.winner] if self.winner is not None else None


class CampaignLink(TenantBase):
    """A link of a campaign's bodies: click redirects go to these URLs only."""

    __tablename__ = "campaign_links"
    __table_args__ = (UniqueConstraint("campaign_id", "url"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))


class CampaignRecipient(TenantBase):
    """One contact of a campaign's snapshot and what became of their message."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        CheckConstraint(f"status IN {_in(RECIPIENT_STATUSES)}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(16))
    """The variant chosen at the snapshot (the contact's preferred language); None: the default."""
    ab_arm: Mapped[int | None] = mapped_column(Integer)
    """The A/B test arm (0 is A) of a recipient drawn into the sample; None: not in the sample."""
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(200))
    """The SMTP reply code and class of the last failure; never the server's text (it may quote the
    address)."""
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_campaign_recipients_campaign_status", CampaignRecipient.campaign_id, CampaignRecipient.status)


class CampaignEvent(TenantBase):
    """An open, click or unsubscribe of one recipient (the report's time series)."""

    __tablename__ = "campaign_events"
    __table_args__ = (CheckConstraint(f"kind IN {_in(EVENT_KINDS)}", name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_links.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_CLOCK)


Index(
    "ix_campaign_events_campaign_kind_at",
    CampaignEvent.campaign_id,
    CampaignEvent.kind,
    CampaignEvent.occurred_at,
)


class MarketingForm(Timestamps, TenantBase):
    """A public lead-capture form: which fields it asks, which consents it offers."""

    __tablename__ = "marketing_forms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSONB, default=list)
    purposes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    create_lead: Mapped[bool] = mapped_column(Boolean, default=True)
    thank_you: Mapped[str] = mapped_column(String(500), default="Thank you!")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class FormSubmission(TenantBase):
    """What a form received; the person's data lives on the contact (and lead) it made."""

    __tablename__ = "marketing_form_submissions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    form_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("marketing_forms.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column()
    consents: Mapped[list[str]] = mapped_column(JSONB, default=list)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_CLOCK)
