"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from saas.errors import ValidationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def check_password_policy(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "Password is too short.",
            {field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            "Password is too long.", {field: [f"Use at most {MAX_PASSWORD_LENGTH} characters."]}
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A fixed hash to verify against when the user does not exist, so that a login attempt for an
# unknown email costs as much time as one for a known email (no user enumeration by timing).
DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
