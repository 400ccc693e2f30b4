"""Tables of the sales force automation module (tenant schema)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship

from saas.db import TenantBase
from saas.modules.core.models import Account, Timestamps, search_vector_column
from saas.modules.core.normalise import phone_digits

LEAD_STATUSES = ("new", "working", "qualified", "disqualified", "converted")
STAGE_KINDS = ("open", "won", "lost")
DEAL_STATUSES = ("open", "won", "lost")


class Pipeline(Timestamps, TenantBase):
    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    stages: Mapped[list[Stage]] = relationship(
        back_populates="pipeline", order_by="Stage.position", cascade="all, delete-orphan"
    )


class Stage(Timestamps, TenantBase):
    __tablename__ = "stages"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)  # win probability in percent
    kind: Mapped[str] = mapped_column(String(10), default="open")

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Lead(Timestamps, TenantBase):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'working', 'qualified', 'disqualified', 'converted')", name="status"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="new")
    source: Mapped[str | None] = mapped_column(String(100))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    disqualified_reason: Mapped[str | None] = mapped_column(String(200))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    converted_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    converted_deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    # Scores (saas/modules/sfa/scoring.py), refreshed by the daily scoring job.
    rule_score: Mapped[int | None] = mapped_column(Integer)
    """Points from the lead's fields, activity and engagement (0-100)."""
    predicted_score: Mapped[int | None] = mapped_column(Integer, index=True)
    """Chance of converting (percent) from the workspace's own model; None while it has too little data."""
    score_factors: Mapped[list | None] = mapped_column(JSONB(none_as_null=True))
    """The predicted score's main factors: ``[[feature, contribution], ...]``, largest first."""
    sort_name: Mapped[str] = mapped_column(
        String(201),
        Computed("lower(coalesce(last_name, '') || ' ' || coalesce(first_name, ''))", persisted=True),
    )
    # Searched by word (see saas.modules.core.models.search_document).
    search_vector: Unmapped[str] = search_vector_column(
        "first_name", "last_name", "email", "company", names=("first_name", "last_name")
    )


class Deal(Timestamps, TenantBase):
    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    close_date: Mapped[date | None] = mapped_column(Date)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"), index=True)
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="open")
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    notes: Mapped[str | None] = mapped_column(Text)
    amount_follows_quote: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    """Whether accepting one of the deal's quotes sets its amount and currency to the quote's total."""
    sort_name: Mapped[str] = mapped_column(String(200), Computed("lower(name)", persisted=True))
    search_vector: Unmapped[str] = search_vector_column("name")

    stage: Mapped[Stage] = relationship()
    pipeline: Mapped[Pipeline] = relationship()
    account: Mapped[Account | None] = relationship()
    contact_links: Mapped[list[DealContact]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def contact_ids(self) -> list[uuid.UUID]:
        return [link.contact_id for link in self.contact_links]


class DealContact(TenantBase):
    __tablename__ = "deal_contacts"

    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(50))


class DealStageChange(TenantBase):
    """History of a deal's stage moves, with the probability that applied at the time."""

    __tablename__ = "deal_stage_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stages.id", ondelete="SET NULL"))
    to_stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stages.id", ondelete="SET NULL"))
    probability: Mapped[int] = mapped_column(Integer)
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LeadScoreModel(TenantBase):
    """The workspace's predictive lead score: a logistic regression trained on its own converted and
    disqualified leads, kept as numbers (coefficients and scaling), never as a pickled object."""

    __tablename__ = "lead_score_models"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1, autoincrement=False)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    converted: Mapped[int] = mapped_column(Integer)
    disqualified: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict | None] = mapped_column(JSONB)
    """``features``, ``means``, ``scales``, ``coefficients``, ``intercept``; None: not enough data."""


class Task(Timestamps, TenantBase):
    __tablename__ = "tasks"
    __table_args__ = (CheckConstraint("status IN ('open', 'done')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="open")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))


QUOTE_STATUSES = ("draft", "sent", "accepted", "declined", "superseded")


class PriceBook(Timestamps, TenantBase):
    """A named list of prices (per product and currency); one is the default a new quote uses."""

    __tablename__ = "price_books"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Product(Timestamps, TenantBase):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name="tax_rate_range"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(30))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0"))
    """In percent (19.000 for 19 %); a quote line copies it and may change it."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_name: Mapped[str] = mapped_column(String(200), Computed("lower(name)", persisted=True))

    prices: Mapped[list[ProductPrice]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProductPrice.currency"
    )


class ProductPrice(TenantBase):
    """A product's unit price in one currency in one price book."""

    __tablename__ = "product_prices"
    __table_args__ = (CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),)

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    price_book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_books.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(16, 4))


class QuoteCounter(TenantBase):
    """The workspace's next quote number. One row, locked FOR UPDATE by whoever numbers a quote: numbers
    are taken in the quote's own transaction, so a rolled-back quote gives its number back (no gaps)."""

    __tablename__ = "quote_counters"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class QuoteSettings(TenantBase):
    """How quotes act on deals. One row; without it the defaults apply."""

    __tablename__ = "quote_settings"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    acceptance_wins_deal: Mapped[bool] = mapped_column(Boolean, default=True)


class Quote(Timestamps, TenantBase):
    """One version of a numbered quote on a deal. A new version keeps the number, raises ``version`` and
    supersedes the one before; figures are stored as computed (saas.modules.sfa.quotes.totals)."""

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("number", "version"),
        CheckConstraint("status IN ('draft', 'sent', 'accepted', 'declined', 'superseded')", name="status"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    """The customer it is addressed to; their preferred language is the document's."""
    price_book_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("price_books.id", ondelete="SET NULL"))
    number: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    """A discount on the whole quote, after the lines' own."""
    expires_on: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    discount_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responder_name: Mapped[str | None] = mapped_column(String(200))
    """The name the customer typed to accept (or decline)."""
    responder_ip: Mapped[str | None] = mapped_column(String(64))
    decline_reason: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[QuoteLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="QuoteLine.position"
    )

    @property
    def reference(self) -> str:
        """How people name it: ``Q-00042``, ``Q-00042-v2`` from its second version on."""
        base = f"Q-{self.number:05d}"
        return base if self.version == 1 else f"{base}-v{self.version}"


class QuoteLine(TenantBase):
    __tablename__ = "quote_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_range"),
        CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name="tax_rate_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str | None] = mapped_column(String(30))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0"))
    net_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    """Quantity x unit price less the line's discount, rounded to the cent."""


Index("ix_leads_sort_name_id", Lead.sort_name, Lead.id)
Index("ix_leads_email_lower", func.lower(Lead.email))
Index("ix_leads_phone_digits", phone_digits(Lead.phone))
Index("ix_leads_last_name_lower", func.lower(Lead.last_name))
Index("ix_leads_status", Lead.status)
Index("ix_deals_sort_name_id", Deal.sort_name, Deal.id)
Index("ix_deals_close_date", Deal.close_date)
Index("ix_leads_created_at_id", Lead.created_at, Lead.id)
Index("ix_deals_created_at_id", Deal.created_at, Deal.id)
Index("ix_leads_search", Lead.__table__.c.search_vector, postgresql_using="gin")
Index("ix_deals_search", Deal.__table__.c.search_vector, postgresql_using="gin")
Index("ix_products_sort_name_id", Product.sort_name, Product.id)
Index("ix_tasks_assignee_status_due", Task.assignee_user_id, Task.status, Task.due_at)
