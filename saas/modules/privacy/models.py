"""Tables of the privacy module (tenant schema): consent ledger, data subject requests, suppression."""

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

CONSENT_STATUSES = ("granted", "withdrawn", "pending")
CONSENT_SOURCES = ("form", "privacy_center", "import", "staff", "api", "unsubscribe")
LAWFUL_BASES = (
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"
)  # fmt: skip
REQUEST_KINDS = ("access", "portability", "rectification", "erasure", "restriction", "objection")
REQUEST_STATUSES = ("received", "verified", "in_progress", "completed", "rejected")

# clock_timestamp(), not now(): events recorded in one transaction still get distinct, ordered times.
_CLOCK = text("clock_timestamp()")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class ConsentPurpose(TenantBase):
    """Something a contact may consent to (email marketing...); configurable per tenant."""

    __tablename__ = "consent_purposes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    notices: Mapped[list[ConsentNotice]] = relationship(order_by="ConsentNotice.version")


class ConsentNotice(TenantBase):
    """One version of the text shown when asking for a purpose's consent; never changed once stored."""

    __tablename__ = "consent_notices"
    __table_args__ = (UniqueConstraint("purpose_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    purpose_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_purposes.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConsentEvent(TenantBase):
    """An append-only ledger entry: a contact's consent for a purpose changed (or was confirmed)."""

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(CONSENT_STATUSES)}", name="status"),
        CheckConstraint(f"source IN {_in(CONSENT_SOURCES)}", name="source"),
        CheckConstraint(f"lawful_basis IN {_in(LAWFUL_BASES)}", name="lawful_basis"),
    )

    # A sequence, so "latest" is well defined even for events with equal times.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    purpose_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_purposes.id", ondelete="RESTRICT"))
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_notices.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10))
    lawful_basis: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_CLOCK)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(100))

    purpose: Mapped[ConsentPurpose] = relationship(lazy="joined")
    notice: Mapped[ConsentNotice] = relationship(lazy="joined")


Index("ix_consent_events_contact_purpose", ConsentEvent.contact_id, ConsentEvent.purpose_id, ConsentEvent.id)


class PrivacyRequest(TenantBase):
    """A data subject request (access, erasure...) with its one-month deadline.

    Holds no personal data beyond the contact link and the person's own free text, both cleared by
    erasure, so the request and its trail can outlive the person.
    """

    __tablename__ = "privacy_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(REQUEST_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(REQUEST_STATUSES)}", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="received")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))  # privacy_center, staff
    verification_method: Mapped[str | None] = mapped_column(String(50))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    details: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_CLOCK)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """What an erasure removed, as counts per table: no personal data."""

    trail: Mapped[list[PrivacyRequestStep]] = relationship(
        order_by="PrivacyRequestStep.id", cascade="all, delete-orphan"
    )


Index("ix_privacy_requests_status_due", PrivacyRequest.status, PrivacyRequest.due_at)


class PrivacyRequestStep(TenantBase):
    """The audit trail of a request: every step, who took it, when."""

    __tablename__ = "privacy_request_steps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_requests.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_CLOCK)


class PrivacyLinkUse(TenantBase):
    """Privacy-center sign-in links already used: each link opens the center once."""

    __tablename__ = "privacy_link_uses"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PrivacySettings(TenantBase):
    """One row per tenant: the suppression list's secret salt and the privacy center's branding."""

    __tablename__ = "privacy_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1, autoincrement=False)
    suppression_salt: Mapped[str] = mapped_column(String(64))
    brand_name: Mapped[str | None] = mapped_column(String(200))
    brand_logo_url: Mapped[str | None] = mapped_column(String(500))
    brand_color: Mapped[str | None] = mapped_column(String(7))
    policy_url: Mapped[str | None] = mapped_column(String(500))


class SuppressedEmail(TenantBase):
    """An erased person's email, as a salted hash: refused if someone tries to recreate them."""

    __tablename__ = "suppressed_emails"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RetentionPolicy(TenantBase):
    """One row per tenant: contacts untouched for ``months`` (and needed by no module) are deleted."""

    __tablename__ = "retention_policies"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("months BETWEEN 1 AND 240", name="months_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1, autoincrement=False)
    months: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """What the last run deleted, as counts per table: no personal data."""
