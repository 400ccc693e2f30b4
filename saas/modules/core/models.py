"""Contacts and accounts, stored in each tenant's own schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from saas.db import TenantBase
from saas.modules.core.normalise import company_key, phone_digits, web_domain

# --- search documents ---
# Lists and the global search find records by the words of their searchable fields through a stored
# ``search_vector`` (a generated tsvector) and a GIN index: PostgreSQL's ``simple`` configuration (no
# stemming, no stop words: names are not prose) over the fields with punctuation turned into spaces, so
# an email ``ann.lee@acme.com`` holds the words ann, lee, acme and com and a domain its labels. Accents
# of Latin letters are folded with ``translate`` (the embedded PostgreSQL has no ``unaccent``; a
# generated column needs an immutable expression anyway), so "zoe" finds "Zoë" and "MULLER" "Müller".
# The query side (saas.modules.core.services.search_condition) folds the user's words the same way.
# Not ``pg_trgm``: the embedded PostgreSQL of dev and CI does not ship it.
SEARCH_CONFIG = "simple"
# Letters keyboards produce interchangeably fold to one form, in the documents and in the searches:
# accented Latin letters to plain ones; Cyrillic ё to е (Russians type «Петр» for «Пётр»); Arabic letter
# forms to the Persian ones (ي/ى/ئ to ی, ك to ک, ۀ/ة to ه, alef and waw with hamza to the bare letters);
# Arabic-Indic and Persian digits to 0-9.
FOLD_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪī"
    "ĬĭĮįİĴĵĶķĹĺĻļĽľŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž"
    "Ёё"
    "يىئكۀةأإآٱؤ"
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹"
)
FOLD_TO = (
    "aaaaaaceeeeiiiinoooooouuuuyaaaaaaceeeeiiiinoooooouuuuyyaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiii"
    "iiiiijjkkllllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzz"
    "Ее"
    "یییکههااااو"
    "01234567890123456789"
)
# Marks that some type and others do not: Arabic short vowels and other harakat, the superscript alef,
# the tatweel, and the zero-width (non-)joiners Persian writes inside words (می‌خواهم and میخواهم match).
FOLD_DROP = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0640\u200c\u200d"
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO, FOLD_DROP)


def fold_search_text(text: str) -> str:
    """``text`` folded as the search documents are (Python's side of ``search_document``'s translate)."""
    return text.translate(_FOLD)


# Scripts whose names are written without a space between family and given name: Han, kana, Hangul.
NO_SPACE_SCRIPTS = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"


def search_document(*columns: str, names: tuple[str, str] | None = None) -> str:
    """The SQL of a generated ``search_vector`` over ``columns`` (the migrations build the same text).

    ``names`` (first, last) adds each order of the two written as one word when the name is in a script
    written without spaces: Chinese, Japanese and Korean names are written whole, family name first (王小明
    for 小明 王), and a search typed that way, in either order, finds the person. Other names do not need
    it, and two unique words per person would only grow the index.
    """
    parts = [f"coalesce({column}, '')" for column in columns]
    if names is not None:
        first, last = (f"coalesce({column}, '')" for column in names)
        parts.append(
            f"CASE WHEN ({first} || {last}) ~ '{NO_SPACE_SCRIPTS}' "
            f"THEN {last} || {first} || ' ' || {first} || {last} ELSE '' END"
        )
    joined = " || ' ' || ".join(parts)
    # Folded before punctuation turns into spaces: PostgreSQL counts the zero-width non-joiner as punctuation.
    folded = f"translate({joined}, '{FOLD_FROM}{FOLD_DROP}', '{FOLD_TO}')"
    spaced = f"regexp_replace({folded}, '[[:punct:]]', ' ', 'g')"
    return f"to_tsvector('{SEARCH_CONFIG}'::regconfig, {spaced})"


def search_vector_column(*columns: str, names: tuple[str, str] | None = None) -> Any:
    """A table column the ORM does not load (records, their API and webhook payloads do not show it)."""
    return unmapped_column(
        TSVECTOR, Computed(search_document(*columns, names=names), persisted=True), nullable=False
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Account(Timestamps, TenantBase):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    # Kept by PostgreSQL; lists page through (sort_name, id) with an index, so a page costs the same
    # at row 100 as at row 100,000.
    sort_name: Mapped[str] = mapped_column(String(200), Computed("lower(name)", persisted=True))
    search_vector: Unmapped[str] = search_vector_column("name", "domain")

    contacts: Mapped[list[Contact]] = relationship(back_populates="account")


class Contact(Timestamps, TenantBase):
    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    # The language the person uses with us (saas.i18n), set by the public page they used.
    preferred_locale: Mapped[str | None] = mapped_column(String(16))
    # Rule points 0..100 and the points per feature behind them, stored by the hourly scoring job
    # (saas.modules.core.scoring); NULL until it first runs.
    rule_score: Mapped[int | None] = mapped_column(Integer, index=True)
    score_factors: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    sort_name: Mapped[str] = mapped_column(
        String(201),
        Computed("lower(coalesce(last_name, '') || ' ' || coalesce(first_name, ''))", persisted=True),
    )
    search_vector: Unmapped[str] = search_vector_column(
        "first_name", "last_name", "email", names=("first_name", "last_name")
    )

    account: Mapped[Account | None] = relationship(back_populates="contacts")

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or (self.email or "")


Index("ix_accounts_sort_name_id", Account.sort_name, Account.id)
Index("ix_contacts_sort_name_id", Contact.sort_name, Contact.id)
Index("ix_accounts_created_at_id", Account.created_at, Account.id)
Index("ix_contacts_created_at_id", Contact.created_at, Contact.id)
Index("ix_contacts_email_lower", func.lower(Contact.email))
# Duplicate detection compares these normalised values (saas.modules.core.duplicates).
Index("ix_contacts_phone_digits", phone_digits(Contact.phone))
Index("ix_contacts_last_name_lower", func.lower(Contact.last_name))
# SQLAlchemy finds an index's table only in its expressions' top level: these nest the column deeper.
Index("ix_accounts_domain_key", web_domain(Account.domain), _table=Account.__table__)
Index("ix_accounts_name_key", company_key(Account.name), _table=Account.__table__)
Index("ix_accounts_phone_digits", phone_digits(Account.phone))
Index("ix_accounts_search", Account.__table__.c.search_vector, postgresql_using="gin")
Index("ix_contacts_search", Contact.__table__.c.search_vector, postgresql_using="gin")


class Activity(TenantBase):
    """One entry of the shared timeline: a note, call, meeting, email, or a system event.

    Linked to a contact and/or account (the single customer view) and optionally to one record of
    another module by ``subject_type``/``subject_id`` (a deal, lead, ticket...), so core never
    depends on a module's tables.
    """

    __tablename__ = "activities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))  # note, call, meeting, email, system
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    subject_type: Mapped[str | None] = mapped_column(String(63))
    subject_id: Mapped[uuid.UUID | None] = mapped_column()
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # A system entry's subject and body as the phrases they were written from (``saas.i18n.Phrase``):
    # shown in the reader's language; ``subject``/``body`` keep the English for the API and search.
    phrases: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


Index("ix_activities_contact_id_occurred_at", Activity.contact_id, Activity.occurred_at)
Index("ix_activities_account_id_occurred_at", Activity.account_id, Activity.occurred_at)
Index("ix_activities_subject", Activity.subject_type, Activity.subject_id, Activity.occurred_at)


class CustomField(Timestamps, TenantBase):
    """A tenant's own field on a record type, stored as a real typed column ``column_name`` of its table.

    The column name never changes (a rename changes the label); a deleted field is hidden but keeps its
    column and data until it is purged.
    """

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("entity", "column_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(63))  # contacts, deals... or a custom object's co_<key>
    column_name: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(100))
    field_type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    default_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    help_text: Mapped[str | None] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSONB, default=list)
    """The choices of a single or multi select."""
    reference: Mapped[str | None] = mapped_column(String(63))
    """The record type a reference field points to (contacts, accounts, a custom object's co_<key>...)."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomObject(Timestamps, TenantBase):
    """A kind of record a workspace defines itself (a Vehicle): its records live in the real table
    ``co_<key>`` of the tenant's schema, with a name column (its primary display field, labelled
    ``name_label``) and custom fields as typed columns. Deleting hides it; a purge drops the table."""

    __tablename__ = "custom_objects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(30), unique=True)
    singular: Mapped[str] = mapped_column(String(60))
    plural: Mapped[str] = mapped_column(String(60))
    icon: Mapped[str] = mapped_column(String(30), default="box")
    name_label: Mapped[str] = mapped_column(String(100), default="Name")
    """The label of the primary display field (``Plate number``)."""
    description: Mapped[str | None] = mapped_column(String(300))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def table_name(self) -> str:
        return f"co_{self.key}"


class SavedView(Timestamps, TenantBase):
    """A named list query (``q``, filters, ``cf_<key>`` filters) of one record type; private or shared."""

    __tablename__ = "saved_views"
    __table_args__ = (Index("ix_saved_views_entity_owner", "entity", "owner_user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    columns: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    """The list's visible columns, in order; empty: the list's own."""
    owner_user_id: Mapped[uuid.UUID]
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class SavedReport(Timestamps, TenantBase):
    """A report kept by name for the whole workspace; a pinned one is a card on the dashboard."""

    __tablename__ = "saved_reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """``run_report``'s arguments: entity, group_by, then_by, measure, field, filters."""
    owner_user_id: Mapped[uuid.UUID]
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class CurrencySettings(TenantBase):
    """The workspace's base currency: pipeline, forecast and dashboard totals are shown in it. One row."""

    __tablename__ = "currency_settings"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    base_currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PhoneSettings(TenantBase):
    """The workspace's default phone region (ISO 3166 alpha-2): numbers typed without a country code are
    read as numbers of this country, and a reader there sees its numbers in national format. One row."""

    __tablename__ = "phone_settings"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    region: Mapped[str] = mapped_column(String(2))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ExchangeRate(TenantBase):
    """What one unit of ``currency`` is worth in ``base_currency`` from ``valid_on`` on, as an admin
    entered it or a reference-rate file said. A rate belongs to the base it was given for: changing the
    base currency leaves old rates in place but unused."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint("base_currency", "currency", "valid_on"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("currency <> base_currency", name="not_the_base"),
        Index("ix_exchange_rates_lookup", "base_currency", "currency", "valid_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    base_currency: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    valid_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))  # "manual" or the reference file's publisher
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ImportJob(TenantBase):
    """A CSV import of records of one type (contacts, leads, a custom object's): the uploaded file, its
    mapping and its progress."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(63))
    """The record type's table (``contacts``, ``leads``, ``co_vehicle``)."""
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, running, done, failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when queued and at every committed batch: a queued or running import whose heartbeat is old
    lost its worker or its queue entry, and is resumed (saas.modules.core.imports.resume_stalled_imports)."""


class ImportRowError(TenantBase):
    __tablename__ = "import_row_errors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class VendorImport(TenantBase):
    """A migration in from another CRM: the vendor's export (a ZIP of its CSV files), the admin's choices
    for the columns we do not know, the dry run's findings and the job's progress."""

    __tablename__ = "vendor_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    vendor: Mapped[str] = mapped_column(String(20))  # hubspot, salesforce, twenty, espocrm
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    choices: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """Per object file, per unknown column: ``custom`` (a custom field) or ``ignore``."""
    dry_run: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending, queued, running, done, failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_rows: Mapped[int] = mapped_column(Integer, default=0)
    skipped_rows: Mapped[int] = mapped_column(Integer, default=0)
    """Rows imported by an earlier run of the same vendor's export (their external id is known)."""
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VendorImportRow(TenantBase):
    """A row of a vendor's file that was not imported (refused or a duplicate), for the report."""

    __tablename__ = "vendor_import_rows"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_imports.id", ondelete="CASCADE"), index=True
    )
    object: Mapped[str] = mapped_column(String(63))
    """The vendor's object (``Contact``, ``deals``), as its file is named."""
    row_number: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # refused, duplicate
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ExternalRecord(TenantBase):
    """Which of our records a vendor's record became: a second run of the same export finds its rows here
    and creates nothing twice; relations between the vendor's records are resolved through it."""

    __tablename__ = "external_records"

    vendor: Mapped[str] = mapped_column(String(20), primary_key=True)
    object: Mapped[str] = mapped_column(String(63), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[uuid.UUID] = mapped_column()
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendor_imports.id", ondelete="SET NULL"))
