"""Who is a platform operator (platform schema): one row per user account the CLI marked as staff."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import db


class Operator(db.Model):
    __tablename__ = "operators"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    granted_by: Mapped[str] = mapped_column(String(100))
    """Who ran ``saas operators grant`` (the CLI's actor)."""
