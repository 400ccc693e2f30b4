"""Encryption of stored secrets (a tenant's OIDC client secret, a user's TOTP secret) with Fernet
(AES-128-CBC + HMAC-SHA256).

The key comes from ``SSO_ENCRYPTION_KEY`` when set (rotate by moving the old value to
``SSO_ENCRYPTION_KEY_OLD``), otherwise it is derived from ``SECRET_KEY`` with HKDF, so that a
database dump alone never yields a usable client secret.
"""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_HKDF_INFO = b"saas-crm stored secrets v1"


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _derive_key(material: str) -> bytes:
    """A Fernet key from any string: HKDF-SHA256, so neither a short nor a reused secret is used raw."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material.encode())
    return base64.urlsafe_b64encode(raw)


def _fernet() -> MultiFernet:
    dedicated = os.environ.get("SSO_ENCRYPTION_KEY")
    previous = os.environ.get("SSO_ENCRYPTION_KEY_OLD")
    materials = [m for m in (dedicated, previous) if m] or [current_app.config["SECRET_KEY"]]
    return MultiFernet([Fernet(_derive_key(material)) for material in materials])


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        raise SecretUnreadable("the stored secret cannot be decrypted with the configured key") from error
