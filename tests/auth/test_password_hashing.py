"""Passwords are hashed with Argon2id at OWASP's recommended minimum; hashes made with older, heavier
parameters still sign in, and are replaced with today's parameters at that sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.low_level import Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from saas.auth.passwords import hash_password, needs_rehash, verify_password
from saas.auth.services import find_user_by_email
from saas.db import db
from tests.conftest import login


def _parameters(password_hash: str) -> str:
    # "$argon2id$v=19$m=19456,t=2,p=1$salt$hash" -> "m=19456,t=2,p=1"
    return password_hash.split("$")[3]


def test_new_hashes_are_argon2id_at_owasps_minimum():
    password_hash = hash_password("correct-horse-battery")
    assert password_hash.startswith("$argon2id$v=19$")
    assert _parameters(password_hash) == "m=19456,t=2,p=1"
    assert verify_password(password_hash, "correct-horse-battery")
    assert not verify_password(password_hash, "correct-horse-batterx")
    assert not needs_rehash(password_hash)


def test_a_hash_with_the_old_parameters_signs_in_and_is_rehashed(client, tenant_a):
    old = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)  # argon2-cffi's default before
    assert old.type is Type.ID
    user = find_user_by_email(db.session, tenant_a.email)
    user.password_hash = old.hash(tenant_a.password)
    db.session.commit()
    assert _parameters(user.password_hash) == "m=65536,t=3,p=4"

    response = login(client, tenant_a.email, tenant_a.password)

    assert response.status_code == 302 and response.headers["Location"] == f"/t/{tenant_a.slug}/"
    db.session.expire_all()
    user = find_user_by_email(db.session, tenant_a.email)
    assert _parameters(user.password_hash) == "m=19456,t=2,p=1"
    assert verify_password(user.password_hash, tenant_a.password)


def test_a_wrong_password_against_an_old_hash_changes_nothing(client, tenant_a):
    old_hash = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(tenant_a.password)
    user = find_user_by_email(db.session, tenant_a.email)
    user.password_hash = old_hash
    db.session.commit()

    response = login(client, tenant_a.email, "not-the-password-1")

    assert response.status_code == 200
    db.session.expire_all()
    assert find_user_by_email(db.session, tenant_a.email).password_hash == old_hash
