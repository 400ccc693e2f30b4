"""Per-process caches of a tenant's rarely changing rows (its custom field definitions), each entry trusted
while a counter of the tenant's in Redis still reads what it read when the entry was stored.

Every commit that changes the rows increments the tenant's counter (after the commit), so every process
looks them up again on its very next request. The API's bearer check reads the counters of the request's
tenant in the Redis round trip it makes anyway (:func:`counter_keys`, :func:`prefetch`); anywhere else a
read costs one GET. Without Redis nothing is cached. ``ttl`` bounds what a change the ORM cannot see
(raw SQL by an operator) leaves: seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g, has_app_context, has_request_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
KEY_PREFIX = "tenant-cache:v:"
PREFETCHED = "tenant_cache_versions"
PENDING = "tenant_cache_pending"
_caches: dict[str, VersionedTenantCache] = {}


def counter_key(name: str, tenant_id: str) -> str:
    return f"{KEY_PREFIX}{name}:{tenant_id}"


@dataclass(frozen=True)
class _Entry:
    version: bytes
    value: Any
    stored_at: float


class VersionedTenantCache:
    """Values per (tenant, part), e.g. a record type's field definitions, under one counter per tenant."""

    def __init__(self, name: str, ttl: float = 30.0, max_entries: int = 10_000) -> None:
        self.name = name
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, Hashable], _Entry] = {}
        self._lock = threading.Lock()
        _caches[name] = self

    def get(self, tenant_id: str, part: Hashable, load: Callable[[], T], session: Session | None = None) -> T:
        """The cached value, or ``load()``'s (stored under the counter read *before* it loaded).

        A ``session`` that changes the rows itself (:meth:`changed`) reads its own uncommitted state.
        """
        if session is not None and counter_key(self.name, tenant_id) in session.info.get(PENDING, ()):
            return load()
        version = _version(counter_key(self.name, tenant_id))
        key = (tenant_id, part)
        entry = self._entries.get(key)
        if (
            entry is not None
            and version is not None
            and entry.version == version
            and time.monotonic() - entry.stored_at <= self.ttl
        ):
            return entry.value
        value = load()
        if version is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()  # rare: a process serving more tenants than that starts afresh
                self._entries[key] = _Entry(version, value, time.monotonic())
        return value

    def changed(self, session: Session, tenant_id: str) -> None:
        """Note that ``session`` changes the tenant's rows: its commit increments the counter."""
        session.info.setdefault(PENDING, set()).add(counter_key(self.name, tenant_id))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def counter_keys(tenant_id: str) -> list[str]:
    """Every cache's counter for ``tenant_id``: what the API's bearer check reads in its round trip."""
    return [counter_key(name, tenant_id) for name in _caches]


def prefetch(values: dict[str, bytes | None]) -> None:
    """Counters read for this request by someone already talking to Redis (the API's bearer check)."""
    g.setdefault(PREFETCHED, {}).update(values)


def _version(key: str) -> bytes | None:
    """The counter's value (``b"0"`` before its first change), or None when Redis cannot tell."""
    if has_request_context():
        prefetched = g.get(PREFETCHED, {})
        if key in prefetched:
            return prefetched[key] or b"0"
    if not has_app_context():
        return None
    from saas.api.credential_cache import credential_cache

    try:
        return credential_cache().redis.get(key) or b"0"
    except RedisError:
        return None


def _increment(keys: Iterable[str]) -> None:
    from saas.api.credential_cache import invalidate

    keys = sorted(set(keys))
    if not keys:
        return
    invalidate(keys, "tenant caches")
    if has_request_context():  # this request's own later reads see its change too
        g.pop(PREFETCHED, None)


@event.listens_for(Session, "after_commit")
def _increment_committed(session: Session) -> None:
    _increment(session.info.pop(PENDING, ()))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)
