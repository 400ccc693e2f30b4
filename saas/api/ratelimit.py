"""API rate limits per IP (before authentication) and per token, counted by Flask-Limiter's Redis storage.

An exceeded limit answers ``429`` with ``Retry-After`` and a problem body. On the hot path a request's
hits (its address's and its credential's) and the credential cache's counters travel to Redis in one
round trip (:func:`count_and_read`) instead of three.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError
from werkzeug.exceptions import TooManyRequests

from saas.extensions import limiter

DEFERRED_IP_HITS = "api_deferred_ip_hits"


@dataclass(frozen=True)
class Hit:
    """One request counted against every limit of the app config's ``setting``, under ``identifiers``."""

    setting: str
    identifiers: tuple[str, ...]

    def items(self) -> list[RateLimitItem]:
        return parse_many(current_app.config[self.setting])


def count_and_read(hits: Sequence[Hit], keys: Sequence[str] = ()) -> tuple[bytes | None, ...] | None:
    """Count ``hits`` and read the ``keys`` of the app's Redis (``REDIS_URL``) in one round trip; 429
    once a limit is spent. None instead of the values when the limits live elsewhere: read them apart.

    Each hit runs the storage's own fixed-window script (INCRBY, EXPIRE on the first), so counting is
    exactly what ``limits`` does, only pipelined with the reads.
    """
    pairs = [(item, hit) for hit in hits for item in hit.items()]
    storage = limiter.limiter.storage
    if isinstance(storage, RedisStorage) and (_limits_in_app_redis() or not keys):
        counts, values = _pipelined(storage, pairs, keys)
    else:  # memory:// or another server: no round trip to share
        counts = [storage.incr(_key(item, hit), item.get_expiry()) for item, hit in pairs]
        values = None
    for (item, hit), count in zip(pairs, counts, strict=True):
        if count > item.amount:
            _refuse(item, hit)
    return values


def _key(item: RateLimitItem, hit: Hit) -> str:
    return item.key_for("api", *hit.identifiers)


def _limits_in_app_redis() -> bool:
    from saas.app import _limiter_storage_uri as limiter_storage_uri

    config = current_app.config
    return config.get("RATELIMIT_STORAGE_URI") == limiter_storage_uri(config["REDIS_URL"])


def _pipelined(
    storage: RedisStorage, pairs: list[tuple[RateLimitItem, Hit]], keys: Sequence[str]
) -> tuple[list[int], tuple[bytes | None, ...]]:
    script = storage.lua_incr_expire
    with storage.get_connection().pipeline(transaction=False) as pipe:
        for item, hit in pairs:
            key = storage.prefixed_key(_key(item, hit))
            # evalsha directly: ``script(client=pipe)`` would ask SCRIPT EXISTS first, a round trip more.
            pipe.evalsha(script.sha, 1, key, item.get_expiry(), 1)
        if keys:
            pipe.mget(list(keys))
        results = pipe.execute(raise_on_error=False)
    counts = []
    for (item, hit), result in zip(pairs, results, strict=False):
        if isinstance(result, NoScriptError):  # a fresh (or flushed) Redis: the storage loads the script
            result = storage.incr(_key(item, hit), item.get_expiry())
        elif isinstance(result, Exception):
            raise result
        counts.append(int(result))
    values: tuple[bytes | None, ...] = ()
    if keys:
        read = results[-1]
        if isinstance(read, Exception):
            raise read
        values = tuple(read)
    return counts, values


def _refuse(item: RateLimitItem, hit: Hit) -> None:
    reset_at = limiter.limiter.get_window_stats(item, "api", *hit.identifiers).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise TooManyRequests(
        description=f"Rate limit of {item} exceeded; retry in {retry_after} seconds.",
        retry_after=retry_after,
    )


def client_address() -> str:
    """The caller's address; behind ``TRUSTED_PROXY_HOPS`` proxies (a load balancer), the one they saw.

    :class:`saas.extensions.TrustedProxies` has already taken it from X-Forwarded-For, once for the
    whole app: counting hops here again would skip past the client to an address it wrote itself.
    """
    return request.remote_addr or "unknown"


def _ip_hit() -> Hit:
    return Hit("API_RATE_LIMIT_PER_IP", ("ip", client_address()))


def limit_by_ip() -> None:
    """``before_request`` of the API: every request counts against its client address.

    A request to a view behind the bearer-token check is counted there instead, in the same round trip
    as its token's hit (:func:`take_deferred_ip_hits`), still before any look-up of the credential.
    """
    if not request.path.startswith("/api/"):
        return
    if request.method != "OPTIONS" and _verifies_bearer_token():
        g.setdefault(DEFERRED_IP_HITS, [_ip_hit()])
        return
    count_and_read([_ip_hit()])


def _verifies_bearer_token() -> bool:
    from saas.api import token_auth

    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "_spec", {}).get("auth") is token_auth


def take_deferred_ip_hits() -> list[Hit]:
    """The address hits :func:`limit_by_ip` left to the token check; whoever takes them counts them."""
    return g.pop(DEFERRED_IP_HITS, [])


def count_deferred_ip_hits(exc: BaseException | None = None) -> None:
    """``teardown_request``: a request that ended before its token check (a refused body) still counts."""
    hits = take_deferred_ip_hits()
    if hits:
        with contextlib.suppress(TooManyRequests):  # answered already; the next request meets the count
            count_and_read(hits)


def token_hit(kind: str, principal_id: str) -> Hit:
    return Hit("API_RATE_LIMIT_PER_TOKEN", (kind, principal_id))
