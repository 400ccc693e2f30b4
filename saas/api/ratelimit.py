"""API rate limits per IP (before authentication) and per token, counted by Flask-Limiter's Redis storage.

An exceeded limit answers ``429`` with ``Retry-After`` and a problem body.
"""

from __future__ import annotations

import math
import time

from flask import current_app, request
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from saas.extensions import limiter


def enforce(limits_setting: str, *identifiers: str) -> None:
    """Count one hit against every limit in config ``limits_setting`` (e.g. "600/minute;10000/hour")."""
    strategy = limiter.limiter
    for item in parse_many(current_app.config[limits_setting]):
        if not strategy.hit(item, "api", *identifiers):
            reset_at = strategy.get_window_stats(item, "api", *identifiers).reset_time
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


def limit_by_ip() -> None:
    """``before_request`` of the API: every request counts against its client address."""
    if request.path.startswith("/api/"):
        enforce("API_RATE_LIMIT_PER_IP", "ip", client_address())


def limit_by_token(kind: str, principal_id: str) -> None:
    enforce("API_RATE_LIMIT_PER_TOKEN", kind, principal_id)
