"""What the files module holds on a person, and how it erases them (privacy registry hooks).

A person's files are those on their contact record, those they sent (portal uploads, inbound mail), and
those on records that are theirs: the tickets they requested (``PERSON_RECORDS``).
"""

from __future__ import annotations

from sqlalchemy import and_, column, or_, select, table
from sqlalchemy.orm import Session

from saas.modules.files.models import StoredFile
from saas.modules.files.services import drop_files
from saas.modules.registry import DataSubject, registry

PERSON_RECORDS = {"tickets": "requester_contact_id"}
"""Record types whose records belong to one person, and the column naming that person's contact."""


def _persons_files(session: Session, subject: DataSubject):
    mine = [
        and_(StoredFile.record_type == "contacts", StoredFile.record_id == subject.contact_id),
        StoredFile.uploaded_by_contact_id == subject.contact_id,
    ]
    for record_table, person_column in PERSON_RECORDS.items():
        if registry.record_type(session, record_table) is None:
            continue
        theirs = (
            select(column("id"))
            .select_from(table(record_table))
            .where(column(person_column) == subject.contact_id)
        )
        mine.append(and_(StoredFile.record_type == record_table, StoredFile.record_id.in_(theirs)))
    return select(StoredFile).where(or_(*mine)).order_by(StoredFile.created_at, StoredFile.name)


def personal_data(session: Session, subject: DataSubject) -> dict:
    """The files, listed: name, kind, size and checksum, and what they are attached to."""
    return {
        "files": [
            {
                "name": stored.name,
                "content_type": stored.content_type,
                "size_bytes": stored.size_bytes,
                "sha256": stored.sha256,
                "attached_to": stored.record_type,
                "sent_by_you": stored.uploaded_by_contact_id == subject.contact_id,
                "at": stored.created_at,
            }
            for stored in session.scalars(_persons_files(session, subject))
        ]
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Deletes the rows now and the stored objects once the erasure commits."""
    return {"files": drop_files(session, list(session.scalars(_persons_files(session, subject))))}
