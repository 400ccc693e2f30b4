"""Carrying a moving tenant's S3 objects (files on records, export archives) from its old cell's bucket to
the new cell's: streamed copies hashed on the way, recopied only when changed, verified by sha256.

The mover keeps one :class:`ObjectLedger` per attempt: what it copied (the source's ETag, the sha256 of the
bytes, the target's ETag after a read-back). Inside the window only objects whose ETags moved on either
side since are copied and read back again, so the window grows with what changed, not with every byte.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import IO, Any

from saas.exports import storage


class ObjectsMismatch(RuntimeError):
    """The new cell's bucket does not hold the same objects as the old cell's."""


@dataclass(frozen=True)
class CopiedObject:
    """One object as the mover left it: the source's ETag it read, the sha256 of those bytes, and the
    target's ETag once read back with that hash."""

    source_etag: str
    sha256: str
    target_etag: str


@dataclass
class ObjectLedger:
    """What this attempt copied and checked, by key (a rerun starts a new ledger and copies again)."""

    copied: dict[str, CopiedObject] = field(default_factory=dict)


class _HashingReader:
    """A file-like view of a stream that hashes what passes through, a block at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.sha256, self.size = stream, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        block = self.stream.read(size)
        self.sha256.update(block)
        self.size += len(block)
        return block


def shared_bucket(from_cell: str, to_cell: str) -> bool:
    """Whether both cells store in one bucket (same endpoint and name): then nothing is copied or purged."""
    return storage.bucket_location(from_cell) == storage.bucket_location(to_cell)


def _listing(tenant_id: str, cell: str) -> dict[str, storage.StoredObject]:
    return {
        found.key: found
        for prefix in storage.tenant_prefixes(tenant_id)
        for found in storage.list_objects(prefix, cell=cell)
    }


def _object_sha256(key: str, cell: str) -> tuple[str, str]:
    """(sha256, ETag) of the object's bytes as read now, streamed."""
    body, opened, _ = storage.open_object(key, cell=cell)
    try:
        reader = _HashingReader(body)
        while reader.read(1024 * 1024):
            pass
    finally:
        body.close()
    return reader.sha256.hexdigest(), opened.etag


def _copy_one(key: str, from_cell: str, to_cell: str) -> tuple[str, str, int]:
    """Stream ``key`` from one bucket to the other (a few parts in memory at most); (source ETag, sha256
    of the bytes copied, bytes)."""
    body, opened, content_type = storage.open_object(key, cell=from_cell)
    try:
        reader = _HashingReader(body)
        storage.upload_stream(reader, key, content_type, cell=to_cell)  # type: ignore[arg-type]
    finally:
        body.close()
    if reader.size != opened.size:
        raise ObjectsMismatch(f"{key}: read {reader.size} bytes of {opened.size}")
    return opened.etag, reader.sha256.hexdigest(), reader.size


def _check_copy(key: str, source_etag: str, sha256: str, to_cell: str) -> CopiedObject:
    """Read the target's object back: its bytes must hash as the source's did."""
    found, target_etag = _object_sha256(key, to_cell)
    if found != sha256:
        raise ObjectsMismatch(f"verification failed for object {key}: its sha256 differs")
    return CopiedObject(source_etag, sha256, target_etag)


def copy_objects(tenant_id: str, from_cell: str, to_cell: str, ledger: ObjectLedger) -> dict[str, Any]:
    """Make the target bucket hold the tenant's objects as the source does now: copy (and read back) what
    is new or changed since the ledger's copy, drop on the target what the source no longer has."""
    if not storage.storage_configured(from_cell):
        return {"skipped": f"cell {from_cell} has no bucket"}
    if shared_bucket(from_cell, to_cell):
        return {"skipped": "both cells share one bucket"}
    source = _listing(tenant_id, from_cell)
    if not storage.storage_configured(to_cell):
        if source:
            raise ObjectsMismatch(f"cell {to_cell} has no bucket for the tenant's {len(source)} objects")
        return {"skipped": f"cell {to_cell} has no bucket"}
    began = time.perf_counter()
    target = _listing(tenant_id, to_cell)
    copied_bytes, copied = 0, 0
    for key, found in sorted(source.items()):
        if _unchanged(ledger.copied.get(key), found, target.get(key)):
            continue
        source_etag, sha256, size = _copy_one(key, from_cell, to_cell)
        ledger.copied[key] = _check_copy(key, source_etag, sha256, to_cell)
        copied, copied_bytes = copied + 1, copied_bytes + size
    stale = sorted(set(target) - set(source))
    if stale:
        storage.delete_objects(stale, cell=to_cell)
    for key in stale:
        ledger.copied.pop(key, None)
    return {
        "objects": len(source),
        "objects_copied": copied,
        "bytes_copied": copied_bytes,
        "objects_dropped": len(stale),
        "seconds": round(time.perf_counter() - began, 3),
    }


def _unchanged(
    done: CopiedObject | None, source: storage.StoredObject, target: storage.StoredObject | None
) -> bool:
    """The ledger's copy still stands: neither side was written since it was read back."""
    return (
        done is not None
        and target is not None
        and done.source_etag == source.etag
        and done.target_etag == target.etag
    )


def verify_objects(tenant_id: str, from_cell: str, to_cell: str, ledger: ObjectLedger) -> int:
    """Every key of the tenant on both sides, each target object's bytes hashing as the source's (read
    back when it was copied; its ETags on both sides unchanged since); the objects verified."""
    if not storage.storage_configured(from_cell) or shared_bucket(from_cell, to_cell):
        return 0
    source = _listing(tenant_id, from_cell)
    if not source and not storage.storage_configured(to_cell):
        return 0
    target = _listing(tenant_id, to_cell)
    missing, extra = sorted(set(source) - set(target)), sorted(set(target) - set(source))
    if missing or extra:
        named = ", ".join((missing + extra)[:10])
        raise ObjectsMismatch(f"verification failed: the buckets' keys differ ({named})")
    changed = sorted(
        key for key in source if not _unchanged(ledger.copied.get(key), source[key], target[key])
    )
    for key in changed:  # not copied in this attempt (or written since): hash both sides
        if _object_sha256(key, from_cell)[0] != _object_sha256(key, to_cell)[0]:
            raise ObjectsMismatch(f"verification failed for object {key}: its sha256 differs")
    return len(source)


def purge_objects(tenant_id: str, from_cell: str, to_cell: str) -> int:
    """Delete the tenant's objects left in ``from_cell``'s bucket (never when it is also ``to_cell``'s);
    how many."""
    if not storage.storage_configured(from_cell) or shared_bucket(from_cell, to_cell):
        return 0
    keys = sorted(_listing(tenant_id, from_cell))
    return storage.delete_objects(keys, cell=from_cell) if keys else 0
