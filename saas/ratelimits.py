"""Rate limits counted per email address a public form names, beside the limiter's per-client ones.

A link request names a victim's address: spread over many client addresses it would still flood that
inbox, so the count follows the address asked about (hashed: the limiter's keys hold no address).
"""

from __future__ import annotations

import hashlib

from flask import current_app
from limits import parse_many

from saas.extensions import limiter


def email_fingerprint(email: str) -> str:
    """The key part that stands for ``email`` (case and surrounding blanks ignored), never the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def within_email_limit(setting: str, default: str, email: str, *, scope: str) -> bool:
    """Count one request for ``email`` in ``scope`` (a workspace's door, e.g. its privacy center) under
    the limit the app config's ``setting`` names (``default`` when unset); False once it is spent.

    No 429 here: the caller answers alike whether or not it sends, so an exhausted limit says nothing.
    """
    if not limiter.enabled:
        return True
    identifiers = (setting.lower(), scope, email_fingerprint(email))
    allowed = True
    for item in parse_many(current_app.config.get(setting, default)):
        # Every window counts this request, even after an earlier one refused it.
        allowed = limiter.limiter.hit(item, *identifiers) and allowed
    return allowed
