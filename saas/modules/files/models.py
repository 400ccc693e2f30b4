"""The files module's table (tenant schema): one row per stored file, keyed to its record by type and id."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantBase

STORED_OBJECT_COLUMN = "object_name"
"""Table info key the export reads: the column naming each row's object in the tenant's file storage."""


class StoredFile(TenantBase):
    """A file on a record. Its bytes live in object storage under the tenant's prefix, named by
    ``object_name`` (tenant-relative, so an exported workspace imports under another tenant's prefix)."""

    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_record", "record_type", "record_id"),
        CheckConstraint("size_bytes >= 0", name="size"),
        # Read by the export: this table's rows own blobs that travel in the archive's files/ folder.
        {"info": {"stored_objects": STORED_OBJECT_COLUMN}},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    record_type: Mapped[str] = mapped_column(String(63))
    """The record's table (``contacts``, ``tickets``, ``co_vehicle``): a registry record type."""
    record_id: Mapped[uuid.UUID] = mapped_column()
    message_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    """A message of the record the file came with (a ticket reply, an inbound mail); None: the record."""
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    uploaded_by_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    """The customer who sent it (portal upload, inbound mail): the file is part of their personal data."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
