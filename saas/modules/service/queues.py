"""Queues of tickets, their members, and auto-assignment (round robin or least loaded)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.service.models import STRATEGIES, Queue, QueueMember, Ticket

OPEN_STATUSES = ("new", "open", "pending_customer")
"""A member's load: tickets assigned to them that are not solved or closed."""


def seed_queue(session: TenantSession) -> None:
    session.add(Queue(name="Support", strategy="round_robin", is_default=True))


def list_queues(session: TenantSession) -> list[Queue]:
    return list(session.scalars(select(Queue).order_by(Queue.name)))


def get_queue(session: TenantSession, queue_id: uuid.UUID) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(N_("No queue with id %(id)s.", id=queue_id))
    return queue


def default_queue(session: TenantSession) -> Queue | None:
    return session.scalar(select(Queue).where(Queue.is_default).limit(1))


def _check(session: TenantSession, data: dict[str, Any], queue: Queue | None = None) -> None:
    if "strategy" in data and data["strategy"] not in STRATEGIES:
        raise ValidationError(
            N_("Unknown strategy."), {"strategy": [N_("One of %(choices)s.", choices=", ".join(STRATEGIES))]}
        )
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name or len(name) > 100:
            raise ValidationError(N_("A queue needs a name."), {"name": [N_("1 to 100 characters.")]})
        clash = session.scalar(select(Queue.id).where(func.lower(Queue.name) == name.lower()))
        if clash is not None and (queue is None or clash != queue.id):
            raise ValidationError(N_("A queue with this name exists."), {"name": [N_("Already taken.")]})
        data["name"] = name


def _set_members(session: TenantSession, queue: Queue, user_ids: list[uuid.UUID]) -> None:
    for user_id in user_ids:
        if not is_member(db.session, session.tenant.id, user_id):
            raise ValidationError(
                N_("Choose members of this workspace."), {"member_ids": [N_("Not a member.")]}
            )
    queue.members = [QueueMember(user_id=user_id) for user_id in sorted(set(user_ids))]


def _make_default(session: TenantSession, queue: Queue) -> None:
    for other in session.scalars(select(Queue).where(Queue.is_default, Queue.id != queue.id)):
        other.is_default = False
    queue.is_default = True


def create_queue(session: TenantSession, data: dict[str, Any]) -> Queue:
    data = dict(data)
    _check(session, data)
    queue = Queue(name=data["name"], strategy=data.get("strategy", "round_robin"), is_default=False)
    session.add(queue)
    _set_members(session, queue, data.get("member_ids") or [])
    if data.get("is_default"):
        _make_default(session, queue)
    session.flush()
    return queue


def update_queue(session: TenantSession, queue_id: uuid.UUID, data: dict[str, Any]) -> Queue:
    queue = get_queue(session, queue_id)
    data = dict(data)
    _check(session, data, queue)
    for name in ("name", "strategy"):
        if name in data:
            setattr(queue, name, data[name])
    if "member_ids" in data:
        _set_members(session, queue, data["member_ids"] or [])
    if data.get("is_default"):
        _make_default(session, queue)
    session.flush()
    return queue


def delete_queue(session: TenantSession, queue_id: uuid.UUID) -> None:
    queue = get_queue(session, queue_id)
    if queue.is_default:
        raise Conflict(N_("The default queue cannot be deleted; make another queue the default first."))
    session.delete(queue)
    session.flush()


def choose_assignee(session: TenantSession, queue: Queue) -> uuid.UUID | None:
    """The member who gets the queue's next ticket, or nobody (manual queue, no members).

    The queue row is locked, so two tickets arriving at once do not both go to the same person.
    """
    if queue.strategy == "manual":
        return None
    session.refresh(queue, with_for_update=True)
    members = [m for m in queue.member_ids if is_member(db.session, session.tenant.id, m)]
    if not members:
        return None
    if queue.strategy == "round_robin":
        later = [m for m in members if queue.last_assigned_user_id is None or m > queue.last_assigned_user_id]
        chosen = (later or members)[0]
    else:
        loads = dict(
            session.execute(
                select(Ticket.assignee_user_id, func.count())
                .where(Ticket.assignee_user_id.in_(members), Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.assignee_user_id)
            ).all()
        )
        chosen = min(members, key=lambda m: (loads.get(m, 0), m))
    queue.last_assigned_user_id = chosen
    return chosen
