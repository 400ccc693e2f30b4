"""Browser sessions that the server can end: sign-out, a password change, deactivation, "sign out
everywhere", or the user revoking one browser from their list.

The signed cookie carries a random token naming a ``user_sessions`` row; the user loader admits a
request only while that row is unrevoked (one indexed lookup per request). Every way of changing a
password revokes the other rows, so the old cookie-held fingerprint of the password hash is no
longer needed for sessions; :func:`password_fingerprint` still keys reset links and the half-done
two-factor sign-in to the password they were made with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, has_request_context, request, session
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import User, UserSession
from saas.db import db

SESSION_KEY = "_sid"
# A browser unseen this long is signed out: the list of sessions stays about real devices.
IDLE_LIMIT = timedelta(days=30)
# last_seen_at is written at most this often, so that a busy page costs no write per request.
TOUCH_INTERVAL = timedelta(minutes=5)


def password_fingerprint(user: User, purpose: str) -> str:
    """A keyed digest of the user's current password hash (none for SSO-only accounts), per ``purpose``.

    Keyed with ``SECRET_KEY`` so the digest, readable in a cookie or a link, says nothing of the hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{purpose}:{user.id}:{user.password_hash or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


# Werkzeug no longer parses user agents; these names are enough for a person to tell their devices
# apart in the list of sessions. First match wins, so Edge and Opera come before Chrome, Chrome before Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def user_agent_summary(agent: str) -> str | None:
    """ "Firefox on Windows" from a User-Agent header; the header itself (cut) when neither is known."""
    browser = next((name for token, name in _BROWSERS if token in agent), None)
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    summary = " on ".join(part for part in (browser, system) if part) if browser else None
    return (summary or agent.strip())[:200] or None


# -- opening and checking ----------------------------------------------------------------------


def open_session(sender: Any, user: User, **extra: Any) -> None:
    """``user_logged_in`` receiver: every way of signing in (password, two-factor, SSO, invitation,
    signup) gets its own record, committed at once in a transaction of its own so that the sign-in
    never depends on the view committing later."""
    token = secrets.token_urlsafe(32)
    with db.engine.begin() as connection:
        connection.execute(
            UserSession.__table__.insert().values(
                id=uuid.uuid4(),
                user_id=user.id,
                token_hash=_hash_token(token),
                ip=request.remote_addr if has_request_context() else None,
                user_agent=user_agent_summary(request.user_agent.string) if has_request_context() else None,
            )
        )
    session[SESSION_KEY] = token


def current_session_id() -> uuid.UUID | None:
    """The id of this browser's session record, once the user loader has admitted it."""
    return g.get("user_session_id")


def signed_in_user(dbs: Session, user_id: str) -> User | None:
    """The user of this browser's live session record, or ``None`` (revoked, idle, deactivated...)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    row = dbs.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash_token(token), UserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    record, user = row
    now = _now()
    if str(user.id) != user_id or not user.is_active or record.last_seen_at < now - IDLE_LIMIT:
        return None
    if record.last_seen_at < now - TOUCH_INTERVAL:
        # Its own short transaction: the user loader runs lazily, possibly in the middle of a view
        # whose own changes must not be committed by it.
        with db.engine.begin() as connection:
            connection.execute(
                update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
            )
    g.user_session_id = record.id
    return user


# -- ending ------------------------------------------------------------------------------------


def end_current_session(sender: Any, user: User, **extra: Any) -> None:
    """``user_logged_out`` receiver: signing out revokes this browser's record, not only its cookie."""
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        with db.engine.begin() as connection:
            connection.execute(
                update(UserSession)
                .where(UserSession.token_hash == _hash_token(token), UserSession.revoked_at.is_(None))
                .values(revoked_at=_now())
            )


def live_sessions(dbs: Session, user_id: uuid.UUID) -> list[UserSession]:
    """The user's sessions that still open pages, most recently seen first."""
    return list(
        dbs.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at >= _now() - IDLE_LIMIT,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def revoke_session(dbs: Session, user: User, session_id: uuid.UUID) -> bool:
    """Revoke one of ``user``'s own sessions (another user's id is simply not found). Audited."""
    revoked = dbs.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=_now())
    ).rowcount
    if revoked:
        record_audit(dbs, "sessions.revoked", actor=str(user.id), target=str(session_id))
    return bool(revoked)


def revoke_all_sessions(
    dbs: Session, user: User, *, reason: str, actor: str | None = None, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of ``user`` but ``keep``; audited as ``sessions.revoked_all`` with
    ``reason`` (signed_out_everywhere, password_changed, password_reset, deactivated)."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    count = dbs.execute(query.values(revoked_at=_now())).rowcount
    record_audit(
        dbs,
        "sessions.revoked_all",
        actor=actor or str(user.id),
        target=str(user.id),
        details={"reason": reason, "count": count},
    )
    return count
