"""The files section of record pages (a registry ``RecordPanel``)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import format_decimal
from sqlalchemy import select

from saas.modules.files.content_types import PREVIEWABLE
from saas.modules.files.models import StoredFile
from saas.modules.files.services import record_messages
from saas.modules.registry import RecordType


def shown_size(size: int) -> str:
    """A size as people read it (decimal units, like the limits): ``6 B``, ``1.2 kB``, ``25.3 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{format_decimal(round(size / scale, 1))} {unit}"
    return f"{format_decimal(size)} B"


def files_panel(session, record_type: RecordType, record: Any) -> dict[str, Any]:
    files = session.scalars(
        select(StoredFile)
        .where(StoredFile.record_type == record_type.table, StoredFile.record_id == record.id)
        .order_by(StoredFile.created_at, StoredFile.name)
    ).all()
    return {
        "files": files,
        "record_type": record_type.table,
        "record_id": record.id,
        "messages": record_messages(session, record_type.table, record.id),
        "previewable": PREVIEWABLE,
        "sizes": {stored.id: shown_size(stored.size_bytes) for stored in files},
        "max_size": shown_size(current_app.config["SAAS_SETTINGS"].files_max_bytes),
    }
