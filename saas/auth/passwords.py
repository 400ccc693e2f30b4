"""Password hashing with Argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet).

argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes) cost ~186 ms of a
signup on this machine; OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane) is what we use. Hashes
made with other parameters still verify, and are replaced at the next sign-in (``needs_rehash``).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from saas.errors import ValidationError
from saas.i18n import N_

# OWASP: "m=19456 (19 MiB), t=2, p=1" is the recommended minimum configuration of Argon2id.
OWASP_MEMORY_KIB = 19456
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=OWASP_TIME_COST, memory_cost=OWASP_MEMORY_KIB, parallelism=OWASP_PARALLELISM
)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Written out rather than formatted from the limits above, so that the catalogs can hold them: a page
# translates a refusal by looking its text up (tests/i18n/test_service_refusals.py keeps them in step).
TOO_SHORT = N_("Use at least 10 characters.")
TOO_LONG = N_("Use at most 256 characters.")


def check_password_policy(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(N_("Password is too short."), {field: [TOO_SHORT]})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(N_("Password is too long."), {field: [TOO_LONG]})


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
    """Whether a hash was made with other parameters than today's (older, heavier defaults included)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A fixed hash to verify against when the user does not exist, so that a login attempt for an
# unknown email costs as much time as one for a known email (no user enumeration by timing).
DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
