"""Tables of the website module (tenant schema): the workspace's site settings, its consenting visitors,
their raw page views, and the anonymous daily figures page views are rolled up into."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantBase

DEFAULT_RETENTION_DAYS = 90


class WebsiteSettings(TenantBase):
    """One row per tenant: the site origins the tracking script may report from, and how long raw page
    views are kept (the daily figures stay)."""

    __tablename__ = "website_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("retention_days BETWEEN 3 AND 730", name="retention_days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1, autoincrement=False)
    origins: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    retention_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_DAYS)
    rolled_up_through: Mapped[date | None] = mapped_column(Date)
    """The last day whose raw page views are counted in ``website_daily_pages``."""


class WebsiteVisitor(TenantBase):
    """A browser that consented on the workspace's site, under the random id its cookie holds; joined to a
    contact once they submit a form or click a tracked email. Erasing the contact erases it and its views."""

    __tablename__ = "website_visitors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    identified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebsitePageView(TenantBase):
    """One page view as the script reported it: raw, personal (a visitor's), deleted after retention."""

    __tablename__ = "website_page_views"
    __table_args__ = (Index("ix_website_page_views_visitor_id_occurred_at", "visitor_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("website_visitors.id", ondelete="CASCADE"))
    session_id: Mapped[uuid.UUID] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    path: Mapped[str] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(String(300))
    referrer: Mapped[str | None] = mapped_column(String(500))


class WebsiteDailyPage(TenantBase):
    """Views, visitors and sessions of one path on one day (UTC): counts only, nobody's in particular."""

    __tablename__ = "website_daily_pages"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    views: Mapped[int] = mapped_column(Integer)
    visitors: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
