"""Files on records: storing an upload (checked, then streamed to S3 under the tenant's prefix), listing a
record's files, deleting them, and the short-lived signed links every download goes through.

A file's object is written before its row and removed after its row's deletion commits: a rolled-back
upload removes the object it wrote, and a rolled-back deletion keeps it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from saas.config import Settings
from saas.db import TenantSession, db
from saas.errors import NotFound, SaasError, ValidationError
from saas.exports import storage
from saas.i18n import N_
from saas.modules.files.content_types import SNIFF_BYTES, classify
from saas.modules.files.models import StoredFile
from saas.modules.registry import RecordType, registry
from saas.modules.switches import enabled_module_keys
from saas.sql import quote_identifier

log = logging.getLogger(__name__)

LINK_SALT = "files-download-link"
FORM_OVERHEAD_BYTES = 64 * 1024
"""What a multipart form carries besides the file (boundaries, the other fields)."""


class FileTooLarge(SaasError):
    status = 413
    title = "File too large"


class StorageFull(SaasError):
    status = 413
    title = "Workspace storage full"


class LinkExpired(SaasError):
    status = 410
    title = "Download link expired"


def _settings() -> Settings:
    return current_app.config["SAAS_SETTINGS"]


def upload_limit_bytes() -> int:
    """The largest request body an upload form may send (Werkzeug refuses more before reading it)."""
    return _settings().files_max_bytes + FORM_OVERHEAD_BYTES


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


# --- records --------------------------------------------------------------------------------------


def record_type_of(session: TenantSession, table: str) -> RecordType:
    """The workspace's record type stored in ``table`` (its module on), or 404."""
    record_type = registry.record_type(session, table, enabled_module_keys(db.session, session.tenant.id))
    if record_type is None:
        raise NotFound(N_("No record type '%(type)s'.", type=table))
    return record_type


def require_record(session: TenantSession, table: str, record_id: uuid.UUID) -> RecordType:
    """The record's type, after checking the record exists in this workspace; else 404."""
    record_type = record_type_of(session, table)
    # Only a table the registry named reaches SQL, and only quoted.
    query = text(f"SELECT 1 FROM {quote_identifier(record_type.table)} WHERE id = :id")
    if session.execute(query, {"id": record_id}).first() is None:
        raise NotFound("No such record.")
    return record_type


RECORD_MESSAGES = {"tickets": ("ticket_messages", "ticket_id")}
"""Record types whose records have a thread of messages (replies) a file may come with: the messages'
table and its column naming the record."""


def require_message(
    session: TenantSession, record_type: str, record_id: uuid.UUID, message_id: uuid.UUID
) -> None:
    """Refuse (422) a message that is not one of this record's."""
    table, record_column = RECORD_MESSAGES.get(record_type, (None, None))
    found = (
        table is not None
        and session.execute(
            text(
                f"SELECT 1 FROM {quote_identifier(table)} "
                f"WHERE id = :message AND {quote_identifier(record_column)} = :record"
            ),
            {"message": message_id, "record": record_id},
        ).first()
    )
    if not found:
        raise ValidationError("No such message on this record.", {"message_id": ["A reply of this record."]})


def record_messages(
    session: TenantSession, record_type: str, record_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    """The record's messages a file may be attached to (newest first), as (id, start of its text)."""
    table, record_column = RECORD_MESSAGES.get(record_type, (None, None))
    if table is None:
        return []
    rows = session.execute(
        text(
            f"SELECT id, left(body, 60) FROM {quote_identifier(table)} "
            f"WHERE {quote_identifier(record_column)} = :record ORDER BY created_at DESC LIMIT 50"
        ),
        {"record": record_id},
    )
    return [(message_id, excerpt) for message_id, excerpt in rows]


# --- storing --------------------------------------------------------------------------------------


class _HashingReader:
    """A file object whose reads also hash and count, so the upload computes the checksum in one pass."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def clean_name(filename: str | None) -> str:
    """A file name safe to store and to send back in a header: the last path part, printable, ≤ 255."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip().strip(".")[:255] or "file"


def stored_bytes(session: Session) -> int:
    """Bytes of every file the workspace holds."""
    return int(session.scalar(select(func.coalesce(func.sum(StoredFile.size_bytes), 0))))


def _size_of(stream: IO[bytes]) -> int:
    size = stream.seek(0, 2)
    stream.seek(0)
    return size


def check_upload(session: TenantSession, size: int) -> None:
    """Refuse an empty file, one over the per-file limit, or one the workspace has no room left for."""
    settings = _settings()
    if size == 0:
        raise ValidationError(N_("The file is empty."), {"file": [N_("Choose a file with some content.")]})
    if size > settings.files_max_bytes:
        raise FileTooLarge(
            N_(
                "The file is %(size)s; files of at most %(limit)s are accepted (FILES_MAX_BYTES).",
                size=megabytes(size),
                limit=megabytes(settings.files_max_bytes),
            )
        )
    used = stored_bytes(session)
    if used + size > settings.files_workspace_max_bytes:
        raise StorageFull(
            N_(
                "The workspace holds %(used)s of files; with this one it would exceed its %(limit)s "
                "(FILES_WORKSPACE_MAX_BYTES). Delete files it no longer needs.",
                used=megabytes(used),
                limit=megabytes(settings.files_workspace_max_bytes),
            )
        )


def attach_file(
    session: TenantSession,
    record_type: str,
    record_id: uuid.UUID,
    stream: IO[bytes],
    filename: str | None,
    *,
    user_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
) -> StoredFile:
    """Store a file on a record. ``stream`` must be seekable (Werkzeug's spooled upload, a temporary
    file, BytesIO): it is measured and sniffed first, then streamed to storage in parts."""
    require_record(session, record_type, record_id)
    if message_id is not None:
        require_message(session, record_type, record_id, message_id)
    storage.cell_bucket(session.tenant.cell)  # refuse before reading the upload when the cell has none
    name = clean_name(filename)
    size = _size_of(stream)
    check_upload(session, size)
    content_type = classify(stream.read(SNIFF_BYTES), name)
    stream.seek(0)
    row = StoredFile(
        id=uuid.uuid4(),
        record_type=record_type,
        record_id=record_id,
        message_id=message_id,
        name=name,
        content_type=content_type,
        uploaded_by_user_id=user_id,
        uploaded_by_contact_id=contact_id,
    )
    row.object_name = row.id.hex
    row.size_bytes, row.sha256 = store_object(session, row.object_name, stream, content_type)
    session.add(row)
    session.flush()
    return row


def keep_attachments(
    session: TenantSession,
    record_type: str,
    record_id: uuid.UUID,
    attachments: list[tuple[str | None, bytes]],
    *,
    contact_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
) -> list[str]:
    """Store a message's attachments (name, bytes) on its record; returns one line per attachment that
    was not kept and why, for the message's text, so a refusal loses nothing silently."""
    refused = []
    for filename, content in attachments:
        try:
            with session.begin_nested():  # a refused attachment leaves the others and the message alone
                attach_file(
                    session, record_type, record_id, io.BytesIO(content), filename,
                    contact_id=contact_id, message_id=message_id,
                )  # fmt: skip
        except SaasError as error:
            refused.append(f"[Attachment {clean_name(filename)} not kept: {error.detail}]")
    return refused


# --- object lifecycle -----------------------------------------------------------------------------


def _objects(session: Session) -> dict[str, list[str]]:
    """Keys this session wrote (removed if it rolls back) and dropped (removed once it commits)."""
    if "stored_objects" not in session.info:
        session.info["stored_objects"] = {"written": [], "dropped": []}
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    return session.info["stored_objects"]


def _remove(cell: str, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete_object(key, cell=cell)
        except Exception:  # the rows are already right; a stray object costs storage, not correctness
            log.exception("could not remove stored object %s", key)


def _after_commit(session: Session) -> None:
    objects = session.info["stored_objects"]
    dropped, objects["dropped"], objects["written"] = objects["dropped"], [], []
    _remove(session.tenant.cell, dropped)


def _after_rollback(session: Session) -> None:
    objects = session.info["stored_objects"]
    written, objects["written"], objects["dropped"] = objects["written"], [], []
    _remove(session.tenant.cell, written)


def store_object(
    session: TenantSession, object_name: str, stream: IO[bytes], content_type: str
) -> tuple[int, str]:
    """Stream bytes to the tenant's storage as ``object_name``, removed again if ``session`` rolls back;
    returns their size and SHA-256. Other modules' rows that own objects (mail attachments) use it too."""
    key = storage.tenant_object_key(session.tenant.id, object_name)
    reader = _HashingReader(stream)
    _objects(session)["written"].append(key)
    storage.upload_stream(reader, key, content_type, cell=session.tenant.cell)
    return reader.size, reader.digest.hexdigest()


def drop_object(session: TenantSession, object_name: str) -> None:
    """Remove a stored object once ``session`` commits (its row's deletion is then final)."""
    _objects(session)["dropped"].append(storage.tenant_object_key(session.tenant.id, object_name))


def drop_files(session: TenantSession, files: list[StoredFile]) -> int:
    """Delete these rows now and their objects when the transaction commits; returns how many."""
    for stored in files:
        drop_object(session, stored.object_name)
        session.delete(stored)
    session.flush()
    return len(files)


def remove_orphaned_files(session: TenantSession) -> int:
    """Drop the files whose record is gone (a deleted contact, a purged custom object's table): nobody can
    reach them any more, and they would still count against the workspace's room and its bill."""
    removed = 0
    for record_type in session.scalars(select(StoredFile.record_type).distinct()).all():
        table_exists = session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = :name)"
            ),
            {"name": record_type},
        )
        orphans = select(StoredFile).where(StoredFile.record_type == record_type)
        if table_exists:
            gone = (
                f"NOT EXISTS (SELECT 1 FROM {quote_identifier(record_type)} r WHERE r.id = files.record_id)"
            )
            orphans = orphans.where(text(gone))
        removed += drop_files(session, list(session.scalars(orphans)))
    return removed


# --- reading --------------------------------------------------------------------------------------


def list_files(session: TenantSession, record_type: str, record_id: uuid.UUID) -> list[StoredFile]:
    """A record's files (its messages' too), oldest first."""
    require_record(session, record_type, record_id)
    return list(
        session.scalars(
            select(StoredFile)
            .where(StoredFile.record_type == record_type, StoredFile.record_id == record_id)
            .order_by(StoredFile.created_at, StoredFile.name)
        )
    )


def get_file(session: TenantSession, file_id: uuid.UUID) -> StoredFile:
    """A file whose record still exists (and whose record type's module is on); else 404."""
    stored = session.get(StoredFile, file_id)
    if stored is None:
        raise NotFound("No such file.")
    require_record(session, stored.record_type, stored.record_id)
    return stored


def delete_file(session: TenantSession, file_id: uuid.UUID) -> StoredFile:
    stored = get_file(session, file_id)
    drop_files(session, [stored])
    return stored


# --- signed links ---------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def download_token(
    session: TenantSession, file_id: uuid.UUID, expires_in: int | None = None
) -> tuple[str, datetime]:
    """A signed token for one file of this workspace and when it expires (``FILES_LINK_SECONDS``)."""
    stored = get_file(session, file_id)
    seconds = _settings().files_link_seconds if expires_in is None else expires_in
    expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
    payload = {"t": session.tenant.id, "f": stored.id.hex, "e": int(expires_at.timestamp())}
    return _serializer().dumps(payload), expires_at


def file_for_token(session: TenantSession, token: str) -> StoredFile:
    """The file a link names, if the link is genuine, unexpired, made for this workspace, and the file
    and its record still exist. The caller has already checked the viewer is a member of it."""
    try:
        payload: dict[str, Any] = _serializer().loads(token)
        file_id = uuid.UUID(payload["f"])
        tenant_id, expires = payload["t"], int(payload["e"])
    except (BadData, KeyError, TypeError, ValueError):
        raise NotFound("No such file.") from None
    if tenant_id != session.tenant.id:  # another workspace's link never serves here
        raise NotFound("No such file.")
    if expires < datetime.now(UTC).timestamp():
        raise LinkExpired("This download link has expired; open the file again for a new one.")
    return get_file(session, file_id)


def file_chunks(session: TenantSession, stored: StoredFile):
    """The file's bytes as read from storage, block by block."""
    key = storage.tenant_object_key(session.tenant.id, stored.object_name)
    return storage.object_chunks(key, cell=session.tenant.cell)
