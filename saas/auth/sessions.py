"""Browser sessions that end when the password changes.

Each signed-in session keeps a keyed fingerprint of the password hash it was opened with; the user
loader refuses a session whose fingerprint no longer matches, so a reset signs out every other browser.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app, session

from saas.auth.models import User

SESSION_KEY = "_pw"


def password_fingerprint(user: User, purpose: str) -> str:
    """A keyed digest of the user's current password hash (none for SSO-only accounts), per ``purpose``.

    Keyed with ``SECRET_KEY`` so the digest, readable in a cookie or a link, says nothing of the hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{purpose}:{user.id}:{user.password_hash or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def remember_password_fingerprint(sender: Any, user: User, **extra: Any) -> None:
    """``user_logged_in`` receiver: every way of signing in (password, SSO, invitation, signup) stamps it."""
    session[SESSION_KEY] = password_fingerprint(user, "session")


def session_is_current(user: User) -> bool:
    """Whether this browser's session was opened with the user's current password.

    A session without the stamp (opened before the stamp existed) counts as stale: one more sign-in.
    """
    stamp = session.get(SESSION_KEY)
    return isinstance(stamp, str) and hmac.compare_digest(stamp, password_fingerprint(user, "session"))
