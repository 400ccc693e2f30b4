"""Forgotten passwords: a signed reset link by mail, valid 30 minutes, that dies once the password changes.

The link carries a keyed fingerprint of the password hash it was made for, so it works once (the new
password changes the hash), not after any other password change, and nothing needs storing. The mail
goes out from a job, asked for whether or not the address has an account, so the page answers alike
and in the same time either way (no enumeration of accounts).
"""

from __future__ import annotations

import hmac
import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import User
from saas.auth.services import set_new_password
from saas.auth.sessions import password_fingerprint
from saas.auth.sso import password_barred_workspace
from saas.db import db
from saas.errors import SaasError
from saas.i18n import N_, current_locale, in_locale
from saas.jobs import queue
from saas.mail import send_mail

RESET_SECONDS = 30 * 60
_SALT = "password-reset"
_FINGERPRINT = "reset-link"

REFUSED = (
    "This password reset link is not valid any more: it was used, it expired (links last 30 minutes) "
    "or the password has changed since. Ask for a new one."
)
SSO_ONLY = N_("Your workspaces sign in with single sign-on only: a password would open none of them.")


class ResetRefused(SaasError):
    """Expired, used, tampered or for an account that is gone: one answer for all, so none is revealed."""

    status = 400
    title = "Link not valid"


class SsoOnly(SaasError):
    status = 403
    title = "Single sign-on only"


def _serializer(signer: type[TimestampSigner] = TimestampSigner) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT, signer=signer)


def make_reset_token(user: User, signer: type[TimestampSigner] = TimestampSigner) -> str:
    """The link's token; ``signer`` only for tests that need a link made in the past."""
    return _serializer(signer).dumps({"u": str(user.id), "p": password_fingerprint(user, _FINGERPRINT)})


def read_reset_token(session: Session, token: str) -> User:
    """The active user a genuine, unexpired, unused link names; else :class:`ResetRefused`."""
    try:
        data = _serializer().loads(token, max_age=RESET_SECONDS)
        user_id, fingerprint = uuid.UUID(data["u"]), str(data["p"])
    except (BadData, KeyError, TypeError, ValueError):
        raise ResetRefused(REFUSED) from None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ResetRefused(REFUSED)
    if not hmac.compare_digest(fingerprint, password_fingerprint(user, _FINGERPRINT)):
        raise ResetRefused(REFUSED)
    return user


def request_password_reset(user: User | None, site_url: str) -> None:
    """Queue the reset mail; queued for an unknown address too (the job then does nothing), so the
    request costs the same either way. ``site_url`` is the site's root as the browser reached it."""
    user_id = str(user.id) if user is not None else None
    queue().enqueue(send_reset_link, user_id, site_url, current_locale())


def _site_url_for(site_url: str, endpoint: str, **values: str) -> str:
    """An absolute URL of ``endpoint`` on the site the request came to (jobs run outside any request)."""
    parts = urlsplit(site_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def send_reset_link(user_id: str | None, site_url: str, locale: str | None = None) -> str:
    """Job body: mail an active user a reset link, or, if every workspace of theirs requires single
    sign-on, where to sign in instead, in their language (else ``locale``, the page's). Returns what it
    did (no address, no token)."""
    user = db.session.get(User, uuid.UUID(user_id)) if user_id else None
    if user is None or not user.is_active:
        return "no_account"
    with in_locale(user.locale or locale):
        return _send_reset_link(user, site_url)


def _send_reset_link(user: User, site_url: str) -> str:
    barred = password_barred_workspace(db.session, user)
    if barred is not None:
        login = _site_url_for(site_url, "sso.tenant_login", slug=barred)
        body = gettext(
            "Someone (we hope you) asked to reset the password of your CRM account.\n\n"
            "%(sso_only)s\nSign in with your organisation's account here:\n%(link)s\n\n"
            "If this was not you, ignore this message.",
            sso_only=gettext(SSO_ONLY),
            link=login,
        )
        sent = send_mail(user.email, gettext("How to sign in to the CRM"), body)
        outcome = "sso_only"
    else:
        link = _site_url_for(site_url, "auth.reset_password", token=make_reset_token(user))
        body = gettext(
            "Someone (we hope you) asked to reset the password of your CRM account.\n\n"
            "Choose a new password here (the link works once, for 30 minutes):\n%(link)s\n\n"
            "If this was not you, ignore this message: your password stays as it is.",
            link=link,
        )
        sent = send_mail(user.email, gettext("Reset your CRM password"), body)
        outcome = "link_sent"
    if not sent:
        outcome = "mail_disabled"
    record_audit(
        db.session,
        "password_reset.requested",
        actor=str(user.id),
        target=str(user.id),
        details={"outcome": outcome},
    )
    db.session.commit()
    return outcome


def reset_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password through a reset link. Audited; the old password and every link made for it
    stop working (links carry its fingerprint), and so does every browser session (revoked)."""
    if password_barred_workspace(session, user) is not None:
        raise SsoOnly(SSO_ONLY)
    set_new_password(session, user, new_password, reason="password_reset")
    record_audit(session, "user.password_reset", actor=str(user.id), target=str(user.id))


def notify_password_changed(user: User, site_url: str) -> None:
    queue().enqueue(send_password_changed_notice, str(user.id), site_url)


def send_password_changed_notice(user_id: str, site_url: str) -> bool:
    """Job body: tell the account's owner their password changed, so a reset they did not make is seen."""
    user = db.session.get(User, uuid.UUID(user_id))
    if user is None:
        return False
    forgot = _site_url_for(site_url, "auth.forgot_password")
    with in_locale(user.locale):
        body = gettext(
            "The password of your CRM account was just changed with a reset link, and every other "
            "signed-in browser was signed out.\n\n"
            "If this was not you, reset it again now at %(link)s and tell your workspace administrator.",
            link=forgot,
        )
        return send_mail(user.email, gettext("Your CRM password was changed"), body)
