"""A workspace's people: invitations by signed, expiring, single-use links; roles; deactivation; removal.

Owners alone make or unmake owners, and a workspace always keeps one active owner. Every change is
in the audit log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext, ngettext
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import ROLES, Invitation, Membership, User
from saas.auth.passwords import check_password_policy, hash_password
from saas.auth.services import find_user_by_email, normalise_email
from saas.errors import Conflict, NotFound, PermissionDenied, ValidationError
from saas.i18n import N_, in_locale, translate
from saas.mail import send_mail
from saas.tenants.language import recipient_locale

INVITATION_DAYS = 7
_INVITATION_SALT = "saas.auth.invitation"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_INVITATION_SALT)


def _now() -> datetime:
    return datetime.now(UTC)


# -- reading -----------------------------------------------------------------------------------


def list_members(session: Session, tenant_id: str) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == tenant_id)
            .order_by(User.email)
        )
    )


def list_open_invitations(session: Session, tenant_id: str) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.tenant_id == tenant_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > _now(),
            )
            .order_by(Invitation.created_at.desc())
        )
    )


def _member(session: Session, tenant_id: str, membership_id: uuid.UUID) -> Membership:
    """A membership of this tenant only: another tenant's id is simply not found."""
    membership = session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.tenant_id == tenant_id)
    )
    if membership is None:
        raise NotFound(N_("No such member in this workspace."))
    return membership


# -- rules -------------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(N_("Unknown role."), {"role": [N_("Choose one of the listed roles.")]})


def _only_owners_touch_owners(actor: Membership, *roles: str) -> None:
    if "owner" in roles and actor.role != "owner":
        raise PermissionDenied(N_("Only an owner may make, change or remove an owner."))


def _keep_an_owner(session: Session, target: Membership) -> None:
    """Refuse when ``target`` is the last active owner; the owners' rows are locked so that two
    admins demoting the last two owners at once cannot both succeed."""
    if target.role != "owner" or not target.is_active:
        return
    owners = session.scalars(
        select(Membership.id)
        .where(
            Membership.tenant_id == target.tenant_id,
            Membership.role == "owner",
            Membership.deactivated_at.is_(None),
        )
        .with_for_update()
    ).all()
    if all(owner_id == target.id for owner_id in owners):
        raise Conflict(N_("A workspace needs at least one owner: make someone else an owner first."))


def _audit(
    session: Session, action: str, actor: Membership, target: Membership | Invitation, **details
) -> None:
    record_audit(
        session,
        f"member.{action}",
        actor=str(actor.user_id),
        tenant_id=actor.tenant_id,
        target=str(target.user_id if isinstance(target, Membership) else target.id),
        details=details,
    )


# -- changes -----------------------------------------------------------------------------------


def change_role(session: Session, actor: Membership, membership_id: uuid.UUID, role: str) -> Membership:
    _check_role(role)
    target = _member(session, actor.tenant_id, membership_id)
    if target.role == role:
        return target
    _only_owners_touch_owners(actor, target.role, role)
    if role != "owner":
        _keep_an_owner(session, target)
    before, target.role = target.role, role
    _audit(session, "role_changed", actor, target, before=before, after=role)
    return target


def set_active(session: Session, actor: Membership, membership_id: uuid.UUID, active: bool) -> Membership:
    """Deactivate (the person can no longer open the workspace or use its tokens) or reactivate."""
    target = _member(session, actor.tenant_id, membership_id)
    if target.is_active == active:
        return target
    _only_owners_touch_owners(actor, target.role)
    if not active:
        _keep_an_owner(session, target)
    target.deactivated_at = None if active else _now()
    _audit(session, "reactivated" if active else "deactivated", actor, target, role=target.role)
    return target


def remove_member(session: Session, actor: Membership, membership_id: uuid.UUID) -> None:
    target = _member(session, actor.tenant_id, membership_id)
    _only_owners_touch_owners(actor, target.role)
    _keep_an_owner(session, target)
    _audit(session, "removed", actor, target, role=target.role)
    session.delete(target)


# -- invitations -------------------------------------------------------------------------------


def invite(session: Session, actor: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """A new invitation and its signed token; an earlier open invitation to the same address is revoked."""
    _check_role(role)
    _only_owners_touch_owners(actor, role)
    email = normalise_email(email)
    user = find_user_by_email(session, email)
    if user is not None and session.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.tenant_id == actor.tenant_id)
    ):
        raise ValidationError(N_("Already a member."), {"email": [N_("This person is already a member.")]})
    for earlier in list_open_invitations(session, actor.tenant_id):
        if earlier.email == email:
            earlier.revoked_at = _now()
    invitation = Invitation(
        tenant_id=actor.tenant_id,
        email=email,
        role=role,
        invited_by=actor.user_id,
        expires_at=_now() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    _audit(session, "invited", actor, invitation, role=role)
    return invitation, invitation_token(invitation)


def revoke_invitation(session: Session, actor: Membership, invitation_id: uuid.UUID) -> None:
    invitation = session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.tenant_id == actor.tenant_id)
    )
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound(N_("No such open invitation in this workspace."))
    _only_owners_touch_owners(actor, invitation.role)
    invitation.revoked_at = _now()
    _audit(session, "invitation_revoked", actor, invitation)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps({"i": str(invitation.id), "t": invitation.tenant_id})


def open_invitation(session: Session, token: str, tenant_id: str | None = None) -> Invitation | None:
    """The open invitation a genuine, unexpired token names (of ``tenant_id`` when given), else None."""
    try:
        data = _serializer().loads(token, max_age=INVITATION_DAYS * 86400)
        invitation_id, token_tenant = uuid.UUID(data["i"]), data["t"]
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if tenant_id is not None and token_tenant != tenant_id:
        return None
    invitation = session.get(Invitation, invitation_id, with_for_update=True)
    if (
        invitation is None
        or invitation.tenant_id != token_tenant
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= _now()
    ):
        return None
    return invitation


def accept_invitation(
    session: Session, invitation: Invitation, *, user: User | None, email: str, password: str | None
) -> User:
    """Make the invitee a member (creating their account with ``password`` if they have none). Audited.

    The caller has proved that ``email`` is the invitee's: a signed-in user with that address, the
    holder of the mailed link setting a first password, or the tenant's identity provider.
    """
    if email != invitation.email:
        raise PermissionDenied(N_("This invitation is for another email address."))
    if user is None:
        if password is None:
            raise ValidationError(N_("Choose a password."), {"password": [N_("Choose a password.")]})
        check_password_policy(password)
        user = User(email=email, password_hash=hash_password(password), is_active_flag=True)
        session.add(user)
        session.flush()
    existing = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == invitation.tenant_id)
    )
    if existing is None:
        session.add(Membership(user_id=user.id, tenant_id=invitation.tenant_id, role=invitation.role))
    invitation.accepted_at = _now()
    record_audit(
        session,
        "member.invitation_accepted",
        actor=str(user.id),
        tenant_id=invitation.tenant_id,
        target=str(invitation.id),
        details={"role": invitation.role},
    )
    return user


ROLE_NAMES = {"owner": N_("owner"), "admin": N_("admin"), "member": N_("member")}


def mail_invitation(invitation: Invitation, workspace_name: str, link: str) -> bool:
    """In the workspace's language: the invited person has no language of their own yet."""
    with in_locale(recipient_locale(None, invitation.tenant_id)):
        body = ngettext(
            "You are invited to join %(workspace)s on Open CRM as %(role)s.\n\n"
            "Accept the invitation (the link works once, for %(num)d day):\n%(link)s\n\n"
            "If you did not expect this, ignore this message.",
            "You are invited to join %(workspace)s on Open CRM as %(role)s.\n\n"
            "Accept the invitation (the link works once, for %(num)d days):\n%(link)s\n\n"
            "If you did not expect this, ignore this message.",
            INVITATION_DAYS,
            workspace=workspace_name,
            role=translate(ROLE_NAMES.get(invitation.role, invitation.role)),
            link=link,
        )
        return send_mail(
            invitation.email, gettext("Invitation to %(workspace)s", workspace=workspace_name), body
        )
