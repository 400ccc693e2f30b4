"""Telling members what happened: :func:`notify` writes one row per recipient (never the actor, never a
deactivated member, never anyone outside the workspace), and the centre, bell and API read a member's own.

Every read and change takes the member's user id: a member never sees or marks another member's rows, and
the tenant session keeps each workspace's rows in its own schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from saas.auth.models import Membership, User
from saas.db import TenantSession, db
from saas.errors import NotFound
from saas.modules.core.activities import acting_user_id
from saas.modules.core.pagination import Page, SortKey
from saas.modules.core.services import RecordService
from saas.modules.notifications.models import KINDS, Notification, NotificationSetting

EXCERPT_CHARS = 280


@dataclass(frozen=True)
class Notice:
    """What happened, before it is addressed to anyone."""

    kind: str
    record_type: str | None = None
    record_id: uuid.UUID | None = None
    record_label: str = ""
    excerpt: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    """Given: each recipient is told at most once under this key (a warning a job repeats)."""


def active_members(tenant_id: str, user_ids: Collection[uuid.UUID] | None = None) -> dict[uuid.UUID, str]:
    """The workspace's active members (membership not deactivated, user not disabled), email by user id;
    only those among ``user_ids`` when given."""
    query = (
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id, Membership.deactivated_at.is_(None), User.is_active_flag)
    )
    if user_ids is not None:
        query = query.where(User.id.in_(list(user_ids)))
    return {row.id: row.email for row in db.session.execute(query)}


def notify(session: TenantSession, recipients: Collection[uuid.UUID | None], notice: Notice) -> int:
    """Tell each recipient of ``notice`` in the session's transaction; returns how many rows were written.

    The acting member is left out (nobody is told of their own action), and so is anyone who is not an
    active member of this workspace now.
    """
    if notice.kind not in KINDS:
        raise ValueError(f"unknown notification kind {notice.kind!r}")
    actor = acting_user_id(session)
    wanted = {user_id for user_id in recipients if user_id is not None and user_id != actor}
    if not wanted:
        return 0
    members = active_members(session.tenant.id, wanted)
    actor_email = actor and _email(actor)  # named as they were when they acted
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "kind": notice.kind,
            "actor_user_id": actor,
            "record_type": notice.record_type,
            "record_id": notice.record_id,
            "record_label": (notice.record_label or "")[:300],
            "excerpt": notice.excerpt[:EXCERPT_CHARS] if notice.excerpt else None,
            "details": {**notice.details, **({"actor": actor_email} if actor_email else {})},
            "dedupe_key": notice.dedupe_key,
        }
        for user_id in members
    ]
    if not rows:
        return 0
    written = session.execute(
        insert(Notification).values(rows).on_conflict_do_nothing().returning(Notification.id)
    ).all()
    return len(written)


def _email(user_id: uuid.UUID) -> str | None:
    return db.session.scalar(select(User.email).where(User.id == user_id))


class NotificationService(RecordService[Notification]):
    """A member's notifications, newest first (keyset pages like every list)."""

    newest_first = True

    def sort_keys(self) -> tuple[SortKey, ...]:
        return (
            SortKey(Notification.created_at, lambda row: row.created_at, datetime.fromisoformat),
            SortKey(Notification.id, lambda row: row.id, uuid.UUID),
        )

    def filters(self, *, user_id: uuid.UUID, unread: bool = False) -> list:
        conditions = [Notification.user_id == user_id]
        if unread:
            conditions.append(Notification.read_at.is_(None))
        return conditions


notifications = NotificationService(Notification, "notification", search=(Notification.record_label,))


def list_for(
    session: TenantSession,
    user_id: uuid.UUID,
    *,
    unread: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of ``user_id``'s notifications, newest first."""
    return notifications.list(session, cursor=cursor, limit=limit, user_id=user_id, unread=unread)


def unread_count(session: TenantSession, user_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def get_own(session: TenantSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    """A notification of ``user_id``; another member's is as unknown as a missing one (404)."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such notification.")
    return row


def mark_read(session: TenantSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    row = get_own(session, user_id, notification_id)
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        session.flush()
    return row


def mark_all_read(session: TenantSession, user_id: uuid.UUID) -> int:
    """Mark every unread notification of ``user_id`` read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount


def takes_digest(session: TenantSession, user_id: uuid.UUID) -> bool:
    setting = session.get(NotificationSetting, user_id)
    return bool(setting and setting.digest)


def set_digest(
    session: TenantSession, user_id: uuid.UUID, digest: bool, base_url: str | None = None
) -> NotificationSetting:
    """Choose (or stop) the daily digest mail for ``user_id``; its links start at ``base_url``."""
    setting = session.get(NotificationSetting, user_id) or NotificationSetting(user_id=user_id)
    setting.digest = digest
    if base_url:
        setting.base_url = base_url.rstrip("/")[:300]
    session.add(setting)
    session.flush()
    return setting
