"""Identity services shared by pages, API, CLI and provisioning."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import ApiToken, Membership, User
from saas.auth.passwords import (
    DUMMY_HASH,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from saas.auth.sessions import revoke_all_sessions
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.tenants.language import time_zone_names
from saas.tenants.models import Tenant

TOKEN_PREFIX = "crm_"  # noqa: S105 - a public marker, not a secret


def normalise_email(email: str, field: str = "email") -> str:
    """Validated, lower-cased email address, or a :class:`ValidationError` naming ``field``."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationError(N_("Email is required."), {field: [N_("Enter an email address.")]})
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationError(N_("Email address is not valid."), {field: [str(error)]}) from error


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; same cost whether or not the email exists."""
    user = find_user_by_email(session, email or "")
    if user is None or not user.is_active:
        verify_password(DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


def set_new_password(
    session: Session, user: User, new_password: str, *, reason: str, keep: uuid.UUID | None = None
) -> None:
    """Replace the user's password and end every browser session opened before, but ``keep`` (the
    browser that made the change). The one way a password changes, so none forgets the sessions."""
    check_password_policy(new_password)
    user.password_hash = hash_password(new_password)
    revoke_all_sessions(session, user, reason=reason, keep=keep)


def change_password(
    session: Session, user: User, current_password: str, new_password: str, *, keep: uuid.UUID | None
) -> None:
    """A signed-in user's own password change: the current password is asked again. Audited."""
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationError(
            N_("The current password is not right."), {"current_password": [N_("This is not your password.")]}
        )
    set_new_password(session, user, new_password, reason="password_changed", keep=keep)
    record_audit(session, "user.password_changed", actor=str(user.id), target=str(user.id))


def set_user_active(session: Session, user: User, active: bool, *, actor: str) -> None:
    """Deactivate an account everywhere (it can no longer sign in, and every open session ends) or
    reactivate it. Audited. A workspace's own deactivation of a member is :func:`members.set_active`."""
    if user.is_active_flag == active:
        return
    user.is_active_flag = active
    if not active:
        revoke_all_sessions(session, user, reason="deactivated", actor=actor)
    record_audit(
        session, "user.reactivated" if active else "user.deactivated", actor=actor, target=str(user.id)
    )


def set_user_time_zone(user: User, time_zone: str | None) -> None:
    """A person's own time zone for every workspace they belong to (empty: each workspace's zone).
    Only the zones a workspace may choose are accepted, so every page can format with it."""
    time_zone = (time_zone or "").strip() or None
    if time_zone is not None and time_zone not in time_zone_names():
        raise ValidationError(
            N_("Choose a time zone from the list."), {"time_zone": [N_("Unknown time zone.")]}
        )
    user.time_zone = time_zone


def membership_for(session: Session, user_id: object, slug: str) -> Membership | None:
    """The user's active membership of the tenant with ``slug``; the only way a URL slug picks a tenant."""
    return session.scalar(
        select(Membership)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id, Tenant.slug == slug, Membership.deactivated_at.is_(None))
    )


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(session: Session, tenant_slug: str, email: str, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token for a member of a tenant; the secret is returned once, never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(
            N_("Token name is required (1-100 characters)."), {"name": [N_("1-100 characters.")]}
        )
    user = find_user_by_email(session, email)
    membership = membership_for(session, user.id, tenant_slug) if user else None
    if membership is None:
        raise NotFound(N_("%(email)s is not a member of tenant %(tenant)s.", email=email, tenant=tenant_slug))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        tenant_id=membership.tenant_id,
        user_id=membership.user_id,
        name=name,
        token_hash=_hash_token(secret),
        prefix=secret[:12],
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        "api_token.created",
        actor=str(user.id),
        tenant_id=membership.tenant_id,
        target=str(token.id),
        details={"name": name},
    )
    return token, secret


def find_api_token(session: Session, secret: str) -> ApiToken | None:
    """The live token for a presented secret, with its user still an active member of its tenant."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    member = session.scalar(
        select(Membership).where(
            Membership.user_id == token.user_id,
            Membership.tenant_id == token.tenant_id,
            Membership.deactivated_at.is_(None),
        )
    )
    return token if member else None


def add_member(
    session: Session, tenant_id: str, email: str, password: str, role: str, *, actor: str
) -> Membership:
    """Make a user (created if new) a member of a tenant with ``role``. Audited.

    Invitations by signed email link build on this (issue 10); tests and the CLI use it directly.
    """
    from saas.auth.models import ROLES

    if role not in ROLES:
        raise ValidationError(N_("Unknown role."), {"role": [N_("Choose one of the listed roles.")]})
    email = normalise_email(email)
    user = find_user_by_email(session, email)
    if user is None:
        check_password_policy(password)
        user = User(email=email, password_hash=hash_password(password), is_active_flag=True)
        session.add(user)
        session.flush()
    elif session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant_id)
    ):
        raise ValidationError(N_("Already a member."), {"email": [N_("This person is already a member.")]})
    membership = Membership(user_id=user.id, tenant_id=tenant_id, role=role)
    session.add(membership)
    record_audit(
        session, "member.added", actor=actor, tenant_id=tenant_id, target=str(user.id), details={"role": role}
    )
    return membership


def workspace_members(session: Session, tenant_id: str) -> list[tuple[uuid.UUID, str]]:
    """(user id, email) of every member of a tenant, by email: whom records can be owned by or assigned to."""
    rows = session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(User.email)
    )
    return [(row.id, row.email) for row in rows]


def is_member(session: Session, tenant_id: str, user_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(Membership.id).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
        )
        is not None
    )
