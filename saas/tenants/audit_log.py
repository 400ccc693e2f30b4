"""Reading a tenant's audit log: filtered by action and actor, newest first, in keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saas.audit import AuditEntry
from saas.auth.models import User

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditView:
    """An entry as shown to the tenant's admins: the actor's email when the actor is a user."""

    id: int
    at: datetime
    actor: str
    actor_email: str | None
    action: str
    target: str | None
    ip: str | None
    details: dict[str, Any]
    imported_from: str | None = None
    """Set on history that came in with an archive: the workspace it was written in."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


def _user_id_of(actor: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(actor.removeprefix("api:"))
    except ValueError:
        return None


def _actor_values(session: Session, actor: str) -> list[str]:
    """What ``actor`` (an email, a user id or a name such as ``job``) is stored as."""
    actor = actor.strip()
    if "@" in actor:
        user_id = session.scalar(select(User.id).where(User.email == actor.lower()))
        if user_id is None:
            return []
        actor = str(user_id)
    return [actor, f"api:{actor}"]


def list_audit_entries(
    session: Session,
    tenant_id: str,
    *,
    action: str | None = None,
    actor: str | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[AuditView], int | None]:
    """One page of the tenant's entries and the ``before`` cursor of the next page (None at the end).

    ``action`` matches an action or a family of them (``member`` matches ``member.invited``...).
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        action = action.strip()
        query = query.where(
            or_(AuditEntry.action == action, AuditEntry.action.startswith(action.rstrip(".") + "."))
        )
    if actor:
        query = query.where(AuditEntry.actor.in_(_actor_values(session, actor)))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    user_ids = {uid for uid in (_user_id_of(e.actor) for e in page) if uid}
    emails = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).tuples().all())
        if user_ids
        else {}
    )
    views = [
        AuditView(
            id=e.id,
            at=e.at,
            actor=e.actor,
            actor_email=emails.get(_user_id_of(e.actor)),
            action=e.action,
            target=e.target,
            ip=e.ip,
            details=e.details or {},
            imported_from=e.imported_from,
        )
        for e in page
    ]
    return views, (page[-1].id if more else None)
