"""The files module's ``merge_records`` hook: a merged-away record's files follow the survivor."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from saas.modules.files.models import StoredFile

TABLE_OF_KIND = {"contact": "contacts", "account": "accounts", "lead": "leads"}


def merge_files(session: Session, kind: str, survivor_id: uuid.UUID, other_id: uuid.UUID) -> dict[str, int]:
    """Files keyed to the record (by type and id, no foreign key) move, and a contact's uploads too."""
    plain = {"synchronize_session": False}
    on_record = update(StoredFile).where(
        StoredFile.record_type == TABLE_OF_KIND.get(kind, kind), StoredFile.record_id == other_id
    )
    moved = session.execute(on_record.values(record_id=survivor_id), execution_options=plain).rowcount
    if kind == "contact":
        sent = update(StoredFile).where(StoredFile.uploaded_by_contact_id == other_id)
        moved += session.execute(
            sent.values(uploaded_by_contact_id=survivor_id), execution_options=plain
        ).rowcount
    return {"files": moved}
