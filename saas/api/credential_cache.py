"""A short-lived, per-process cache of resolved API credentials, invalidated through versions in Redis.

Resolving a bearer secret to its member and tenant took several platform queries on every API call. A
resolution is now kept for a few seconds (``API_CREDENTIAL_CACHE_SECONDS``) together with the values of
three counters in Redis read *before* it was looked up: its tenant's, its user's and a global one. Every
committed change that can take a credential away (a token or client revoked, a member deactivated,
removed or given another role, a user deactivated, a tenant purged or its login rotated) increments the
counters concerned, so the next request of any process sees a different value and looks the credential
up again. If Redis cannot answer, nothing is served from the cache. The TTL bounds what a change made
outside the ORM (raw SQL by an operator) could leave: seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

KEY_PREFIX = "api:credentials:v:"
GLOBAL_KEY = KEY_PREFIX + "all"
# Longer than any entry lives, so an expired counter that starts again cannot match a cached value.
COUNTER_SECONDS = 86400
PENDING = "credential_cache_pending"


def tenant_key(tenant_id: str) -> str:
    return f"{KEY_PREFIX}t:{tenant_id}"


def user_key(user_id: object) -> str:
    return f"{KEY_PREFIX}u:{user_id}"


@dataclass(frozen=True)
class _Entry:
    value: Any
    keys: tuple[str, ...]
    versions: tuple[bytes | None, ...]
    stored_at: float


class CredentialCache:
    """Resolved credentials by secret digest: an LRU of at most ``max_entries``, each trusted for
    ``ttl`` seconds and only while the Redis counters it was stored with are unchanged."""

    def __init__(self, redis: Redis, ttl: float, max_entries: int = 10_000) -> None:
        self.redis = redis
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def versions(self, keys: Iterable[str]) -> tuple[bytes | None, ...] | None:
        """The counters' current values, or None when Redis cannot tell (then nothing is cached)."""
        try:
            return tuple(self.redis.mget(list(keys)))
        except RedisError:
            return None

    def get(self, key: Hashable) -> Any | None:
        entry = self.peek(key)
        return None if entry is None else self.confirm(key, entry, self.versions(entry.keys))

    def peek(self, key: Hashable) -> _Entry | None:
        """The entry under ``key`` while its TTL lasts, unconfirmed: :meth:`confirm` it with the
        counters' values (read by the caller, e.g. in the same round trip as its rate limits)."""
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry.stored_at > self.ttl:
            return None
        return entry

    def confirm(self, key: Hashable, entry: _Entry, versions: tuple[bytes | None, ...] | None) -> Any | None:
        """``entry``'s value if the counters still read ``versions``; else it is dropped and None."""
        if versions is None or versions != entry.versions:
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return None
        return entry.value

    def put(self, key: Hashable, value: Any, keys: tuple[str, ...], versions: tuple | None) -> None:
        """Keep ``value`` under ``versions``, which must have been read *before* ``value`` was looked
        up: a change committed in between then makes the entry stale at once instead of hiding it."""
        if self.ttl <= 0 or versions is None:
            return
        with self._lock:
            self._entries[key] = _Entry(value, keys, versions, time.monotonic())
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def credential_cache() -> CredentialCache:
    """This app's cache (one per process), with a Redis client of its own kept for the process's life."""
    cache = current_app.extensions.get("credential_cache")
    if cache is None:
        redis = Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=1.0)
        ttl = float(current_app.config.get("API_CREDENTIAL_CACHE_SECONDS", 5))
        cache = current_app.extensions.setdefault("credential_cache", CredentialCache(redis, ttl))
    return cache


def invalidate(keys: Iterable[str], cache_name: str = "credential cache") -> None:
    """Increment the counters ``keys`` now (every process's entries under them turn stale); the counters
    live in Redis beside the credential cache's, whichever cache they stamp (``cache_name``, for the log)."""
    keys = sorted(set(keys))
    if not keys or not has_app_context():
        return
    try:
        with credential_cache().redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, COUNTER_SECONDS)
            pipe.execute()
    except RedisError:
        current_app.logger.warning("%s: counters not incremented; entries expire by TTL", cache_name)


# --- what invalidates: ORM changes, watched on every session ---------------------------------------------


def _changed(obj: object, columns: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[column].history.has_changes() for column in columns)


def _keys_for(obj: object, deleted: bool) -> set[str]:
    from saas.api.models import ApiTokenScope, OAuthClient, OAuthToken
    from saas.auth.models import ApiToken, Membership, User
    from saas.tenants.models import Tenant

    if isinstance(obj, ApiToken) and (deleted or _changed(obj, ("revoked_at", "user_id", "tenant_id"))):
        return {tenant_key(obj.tenant_id)}
    if isinstance(obj, Membership) and (deleted or _changed(obj, ("role", "deactivated_at", "tenant_id"))):
        return {tenant_key(obj.tenant_id)}
    if isinstance(obj, User) and (deleted or _changed(obj, ("is_active_flag", "email"))):
        return {user_key(obj.id)}
    if isinstance(obj, OAuthClient) and (deleted or _changed(obj, ("revoked_at", "scope", "user_id"))):
        return {tenant_key(obj.tenant_id)}
    if isinstance(obj, OAuthToken) and (deleted or _changed(obj, ("revoked_at", "expires_at", "scope"))):
        return {GLOBAL_KEY}  # its tenant is one query away; token changes other than expiry are rare
    if isinstance(obj, ApiTokenScope) and (deleted or _changed(obj, ("scope",))):
        return {GLOBAL_KEY}
    # The cell too: a cached principal carries the tenant's ref, which names its cell.
    if isinstance(obj, Tenant) and (deleted or _changed(obj, ("slug", "status", "db_login_version", "cell"))):
        return {tenant_key(obj.id)}
    return set()


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context: object, instances: object) -> None:
    pending = session.info.setdefault(PENDING, set())
    for obj in session.dirty:
        pending |= _keys_for(obj, deleted=False)
    for obj in session.deleted:
        pending |= _keys_for(obj, deleted=True)


_WATCHED_TABLES = frozenset(
    {"users", "memberships", "api_tokens", "api_token_scopes", "oauth_clients", "oauth_tokens", "tenants"}
)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    # A bulk UPDATE or DELETE (``update(Membership)…``, ``Membership.__table__.delete()``) names no row
    # the flush could see: every cached credential is looked up again after its commit.
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _WATCHED_TABLES:
            state.session.info.setdefault(PENDING, set()).add(GLOBAL_KEY)


@event.listens_for(Session, "after_commit")
def _invalidate_committed(session: Session) -> None:
    # After the commit: a request that looked the credential up before it would otherwise cache the old row
    # under the new counter values.
    invalidate(session.info.pop(PENDING, ()))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)
