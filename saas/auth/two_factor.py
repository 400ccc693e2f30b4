"""Two-factor sign-in with TOTP (RFC 6238, pyotp) and single-use recovery codes, and a workspace's
"require two-factor for password sign-ins" setting.

The TOTP secret is stored Fernet-encrypted like the SSO client secrets (:mod:`saas.auth.crypto`);
recovery codes are stored as Argon2 hashes and shown once. A code is accepted once: the last accepted
time step is remembered and only a later one passes.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime

import pyotp
import segno
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.crypto import decrypt_secret, encrypt_secret
from saas.auth.models import RecoveryCode, TwoFactor, User, WorkspaceSecurity
from saas.auth.passwords import hash_password, verify_password
from saas.errors import ValidationError
from saas.i18n import N_

ISSUER = "Open CRM"
RECOVERY_CODE_COUNT = 10
# Accept the neighbouring time steps too: a phone's clock a little off, or a code typed slowly.
VALID_WINDOW = 1
_TOTP_CODE = re.compile(r"^\d{6}$")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
WRONG_CODE = N_("This code is not right (or was used already). Try the next one from your app.")


def _now() -> datetime:
    return datetime.now(UTC)


def _clean(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


# -- reading -----------------------------------------------------------------------------------


def two_factor_of(session: Session, user_id: uuid.UUID) -> TwoFactor | None:
    return session.get(TwoFactor, user_id)


def has_two_factor(session: Session, user_id: uuid.UUID) -> bool:
    record = two_factor_of(session, user_id)
    return record is not None and record.enabled_at is not None


def remaining_recovery_codes(session: Session, user_id: uuid.UUID) -> int:
    return len(_unused_codes(session, user_id))


def _unused_codes(session: Session, user_id: uuid.UUID) -> list[RecoveryCode]:
    return list(
        session.scalars(
            select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
    )


def provisioning_uri(user: User, record: TwoFactor) -> str:
    return pyotp.TOTP(decrypt_secret(record.secret_encrypted)).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )


def qr_code_svg(uri: str) -> Markup:
    """The enrollment QR code as inline SVG: no image request, nothing for a strict CSP to refuse."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=gettext("QR code of your two-factor secret"))
    return Markup(svg)  # noqa: S704 - segno's own markup of a URI we built; no user text in it


def readable_secret(record: TwoFactor) -> str:
    """The secret in groups of four, for typing into an app that cannot scan."""
    secret = decrypt_secret(record.secret_encrypted)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# -- enrolling ---------------------------------------------------------------------------------


def start_enrollment(session: Session, user: User) -> TwoFactor:
    """The unconfirmed secret to show (made now, or the one already shown so a reload keeps the QR)."""
    record = two_factor_of(session, user.id)
    if record is None:
        record = TwoFactor(user_id=user.id, secret_encrypted=encrypt_secret(pyotp.random_base32()))
        session.add(record)
        session.flush()
    return record


def _new_recovery_codes(session: Session, user_id: uuid.UUID) -> list[str]:
    """Replace every recovery code of the user; the plain codes are returned to be shown once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user_id, code_hash=hash_password(raw)))
    return codes


def confirm_enrollment(session: Session, user: User, code: str) -> list[str]:
    """Switch two-factor on once a current code proves the app holds the secret. Audited.

    Returns the recovery codes, to be shown this once.
    """
    record = two_factor_of(session, user.id)
    if record is None or record.enabled_at is not None:
        raise ValidationError("Start again.", {"code": ["Two-factor sign-in is not being set up."]})
    if not _accept_totp(session, record, code):
        raise ValidationError("Wrong code.", {"code": [WRONG_CODE]})
    record.enabled_at = _now()
    codes = _new_recovery_codes(session, user.id)
    record_audit(session, "2fa.enabled", actor=str(user.id), target=str(user.id))
    return codes


def renew_recovery_codes(session: Session, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current TOTP code. Audited."""
    record = two_factor_of(session, user.id)
    if record is None or record.enabled_at is None or not _accept_totp(session, record, code):
        raise ValidationError("Wrong code.", {"code": [WRONG_CODE]})
    codes = _new_recovery_codes(session, user.id)
    record_audit(session, "2fa.recovery_codes_renewed", actor=str(user.id), target=str(user.id))
    return codes


def disable(session: Session, user: User, proof: str) -> None:
    """Switch two-factor off, proven by a current code or the account's password. Audited."""
    record = two_factor_of(session, user.id)
    if record is None or record.enabled_at is None:
        return
    proven = (
        _accept_totp(session, record, proof)
        if _TOTP_CODE.match(_clean(proof))
        else verify_password(user.password_hash, proof or "")
    )
    if not proven:
        raise ValidationError(
            "Not confirmed.", {"proof": ["Enter a current code from your app, or your password."]}
        )
    session.delete(record)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_audit(session, "2fa.disabled", actor=str(user.id), target=str(user.id))


# -- verifying ---------------------------------------------------------------------------------


def _accept_totp(session: Session, record: TwoFactor, code: str) -> bool:
    """Whether ``code`` is the TOTP of a time step near now that is later than the last accepted one.

    The step is claimed with a conditional UPDATE, so two requests racing with one code cannot both pass.
    """
    code = _clean(code)
    if not _TOTP_CODE.match(code):
        return False
    totp = pyotp.TOTP(decrypt_secret(record.secret_encrypted))
    now_step = totp.timecode(_now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            claimed = session.execute(
                update(TwoFactor)
                .where(
                    TwoFactor.user_id == record.user_id,
                    or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step),
                )
                .values(last_used_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                record.last_used_step = step
            return bool(claimed)
    return False


def _accept_recovery_code(session: Session, user_id: uuid.UUID, code: str) -> bool:
    code = _clean(code)
    if len(code) != 10:
        return False
    for stored in _unused_codes(session, user_id):
        if verify_password(stored.code_hash, code):
            used = session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == stored.id, RecoveryCode.used_at.is_(None))
                .values(used_at=_now())
            ).rowcount
            return bool(used)
    return False


def verify_sign_in_code(session: Session, user: User, code: str) -> bool:
    """The second sign-in step: a current TOTP code, or an unused recovery code. Audited either way
    but for a plain accepted TOTP code (the sign-in itself is the record of that)."""
    record = two_factor_of(session, user.id)
    if record is None or record.enabled_at is None:
        return False
    if _accept_totp(session, record, code):
        return True
    if _accept_recovery_code(session, user.id, code):
        record_audit(
            session,
            "2fa.recovery_code_used",
            actor=str(user.id),
            target=str(user.id),
            details={"remaining": remaining_recovery_codes(session, user.id)},
        )
        return True
    record_audit(session, "2fa.code_refused", actor=str(user.id), target=str(user.id))
    return False


# -- the workspace setting ---------------------------------------------------------------------


def two_factor_required(session: Session, tenant_id: str) -> bool:
    settings = session.get(WorkspaceSecurity, tenant_id)
    return bool(settings and settings.require_two_factor)


def set_two_factor_required(session: Session, tenant_id: str, required: bool, *, actor: str) -> None:
    """Owners and admins turn the requirement on or off (the view checks the role). Audited."""
    settings = session.get(WorkspaceSecurity, tenant_id)
    if settings is None:
        settings = WorkspaceSecurity(tenant_id=tenant_id, require_two_factor=False)
        session.add(settings)
    if settings.require_two_factor == required:
        return
    settings.require_two_factor = required
    record_audit(
        session,
        "security.two_factor_required" if required else "security.two_factor_not_required",
        actor=actor,
        tenant_id=tenant_id,
    )
