"""The files section of record pages (a registry ``RecordPanel``)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from saas.modules.files.content_types import PREVIEWABLE
from saas.modules.files.models import StoredFile
from saas.modules.files.services import record_messages
from saas.modules.registry import RecordType


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
        "max_bytes": current_app.config["SAAS_SETTINGS"].files_max_bytes,
    }
