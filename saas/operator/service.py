"""What the operator pages and ``saas operators`` do: mark platform staff, show where each tenant lives
and its moves, and queue a move as a platform job that calls :func:`move_tenant` (never in a request).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import AuditEntry, record_audit
from saas.auth.models import User
from saas.auth.services import find_user_by_email, normalise_email
from saas.cells import cell_directory
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.operator.models import Operator
from saas.tenants.models import Tenant
from saas.tenants.moves.models import COPIED, COPYING, OPEN_STEPS, PURGED, SWITCHED, TenantMove

MOVE_REQUESTED = "operator.move_requested"
MOVE_JOB = "saas.operator.service.run_requested_move"
MOVE_JOB_TIMEOUT_SECONDS = 6 * 3600
"""A large tenant's first copy takes far longer than RQ's default of three minutes; a move killed by the
timeout is resumed by the next request (or ``saas tenants move``)."""
WAITING_JOB_STATUSES = ("queued", "deferred", "scheduled")
QUEUED, RUNNING, FAILED = N_("Queued"), N_("Running"), N_("Failed")
STATUS_LABELS = {
    "none": N_("Not moved"),
    "queued": QUEUED,
    "deferred": QUEUED,
    "scheduled": QUEUED,
    "started": RUNNING,
    "running": RUNNING,
    "finished": N_("Finished"),
    "failed": FAILED,
    "stopped": N_("Stopped"),
    "canceled": N_("Stopped"),
    "expired": N_("No longer kept by the queue"),
    COPYING: N_("Copying"),
    COPIED: N_("First copy done"),
    SWITCHED: N_("Moved, old copy kept"),
    PURGED: N_("Moved, old copy dropped"),
}
"""How the pages name a move's status and step and its job's RQ status (the codes stay in data-*)."""
TENANTS_SHOWN = 500
"""The list page's length: an operator looks a tenant up by slug beyond that (``?q=``)."""


# -- who is an operator ------------------------------------------------------------------------------


def is_operator(session: Session, user_id: uuid.UUID | str | None) -> bool:
    """Whether the user account ``user_id`` carries the operator mark."""
    if user_id is None:
        return False
    return session.get(Operator, uuid.UUID(str(user_id))) is not None


def _user(session: Session, email: str) -> User:
    user = find_user_by_email(session, normalise_email(email))
    if user is None:
        raise NotFound(f"No user account {email!r}.")
    return user


def grant_operator(session: Session, email: str, *, actor: str) -> bool:
    """Mark the account ``email`` as a platform operator (audited); False if it already was."""
    user = _user(session, email)
    if session.get(Operator, user.id) is not None:
        return False
    session.add(Operator(user_id=user.id, granted_by=actor))
    record_audit(session, "operator.granted", actor=actor, target=user.email)
    return True


def revoke_operator(session: Session, email: str, *, actor: str) -> bool:
    """Take the operator mark from ``email`` (audited); False if it had none."""
    user = _user(session, email)
    operator = session.get(Operator, user.id)
    if operator is None:
        return False
    session.delete(operator)
    record_audit(session, "operator.revoked", actor=actor, target=user.email)
    return True


def operator_emails(session: Session) -> list[str]:
    return list(
        session.scalars(select(User.email).join(Operator, Operator.user_id == User.id).order_by(User.email))
    )


# -- where tenants live ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantPlacement:
    """A tenant as the list shows it: its cell and its newest move, if any."""

    tenant: Tenant
    last_move: TenantMove | None


def tenant_placements(session: Session, query: str = "") -> list[TenantPlacement]:
    """Tenants by slug (those starting with ``query``), each with its newest move."""
    tenants = select(Tenant).order_by(Tenant.slug).limit(TENANTS_SHOWN)
    if query:
        tenants = tenants.where(Tenant.slug.startswith(query.strip().lower(), autoescape=True))
    rows = list(session.scalars(tenants))
    newest = (
        select(TenantMove)
        .where(TenantMove.tenant_id.in_([tenant.id for tenant in rows]))
        .distinct(TenantMove.tenant_id)
        .order_by(TenantMove.tenant_id, TenantMove.id.desc())
    )
    moves = {move.tenant_id: move for move in session.scalars(newest)}
    return [TenantPlacement(tenant, moves.get(tenant.id)) for tenant in rows]


def tenant_by_slug(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"No tenant {slug!r}.")
    return tenant


def tenant_moves(session: Session, tenant_id: str, limit: int = 10) -> list[TenantMove]:
    """The tenant's moves, newest first."""
    return list(
        session.scalars(
            select(TenantMove)
            .where(TenantMove.tenant_id == tenant_id)
            .order_by(TenantMove.id.desc())
            .limit(limit)
        )
    )


# -- requested moves ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveRequest:
    """A move an operator asked for on the page (its audit entry) and what its job is doing now."""

    at: datetime
    actor: str
    to_cell: str
    job_id: str
    job_status: str
    """RQ's status (queued, started, finished, failed, …), or ``expired`` once RQ forgot the job."""


def _job_status(job_id: str) -> str:
    from saas.jobs import redis_connection

    try:
        status = Job.fetch(job_id, connection=redis_connection()).get_status()
    except NoSuchJobError:
        return "expired"
    return str(getattr(status, "value", status) or "expired")


def move_requests(session: Session, tenant_id: str, limit: int = 5) -> list[MoveRequest]:
    """The tenant's requested moves, newest first, with their jobs' status."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action == MOVE_REQUESTED)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        MoveRequest(
            at=entry.at,
            actor=entry.actor,
            to_cell=entry.details.get("to", ""),
            job_id=entry.details.get("job", ""),
            job_status=_job_status(entry.details.get("job", "")),
        )
        for entry in entries
    ]


def _open_move(session: Session, tenant_id: str) -> TenantMove | None:
    return session.scalar(
        select(TenantMove).where(TenantMove.tenant_id == tenant_id, TenantMove.step.in_(OPEN_STEPS))
    )


def _refuse(message: str) -> None:
    raise ValidationError(message, {"cell": [message]})


def check_move_request(session: Session, tenant: Tenant, to_cell: str) -> None:
    """Refuse, with a message for the form, a move the job could only fail: an undeclared cell, the
    tenant's own cell, a cell other than its unfinished move's, or one already waiting for a worker."""
    if to_cell not in {cell.name for cell in cell_directory()}:
        _refuse(N_("Choose one of the declared cells."))
    unfinished = _open_move(session, tenant.id)
    if unfinished is None and tenant.cell == to_cell:
        _refuse(N_("The workspace already lives in this cell."))
    if unfinished is not None and unfinished.to_cell != to_cell:
        _refuse(N_("The workspace has an unfinished move to another cell: resume that one first."))
    if any(
        request.job_status in (*WAITING_JOB_STATUSES, "started")
        for request in move_requests(session, tenant.id)
    ):
        _refuse(N_("A move of this workspace is already queued or running."))


def request_move(session: Session, tenant: Tenant, to_cell: str, *, operator_email: str) -> str:
    """Queue the move of ``tenant`` to ``to_cell`` on the default cell's platform queue, audited as
    ``operator.move_requested``; the job's id. Commits."""
    from saas.jobs import queue

    # Two operators posting at once: the second waits here until the first one's job is queued and its
    # entry committed, then is refused.
    session.execute(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update())
    check_move_request(session, tenant, to_cell)
    job = queue().enqueue(
        MOVE_JOB,
        tenant.slug,
        to_cell,
        operator_email,
        job_timeout=MOVE_JOB_TIMEOUT_SECONDS,
        result_ttl=7 * 24 * 3600,
        failure_ttl=7 * 24 * 3600,
    )
    record_audit(
        session,
        MOVE_REQUESTED,
        actor=operator_email,
        tenant_id=tenant.id,
        target=tenant.slug,
        details={"from": tenant.cell, "to": to_cell, "job": job.id},
    )
    try:
        session.commit()
    except BaseException:
        job.cancel()  # no request on record: no move either
        raise
    return job.id


def run_requested_move(slug: str, to_cell: str, actor: str) -> dict[str, Any]:
    """The platform job: run (or resume) the move as the operator who asked for it. A failure is kept on
    the move's row (the page shows it) and fails the job."""
    from saas.tenants.moves.service import move_tenant

    return move_tenant(slug, to_cell, actor=actor[:100]).as_dict()


def move_progress(session: Session, tenant: Tenant) -> dict[str, Any]:
    """What the page polls: ``status`` (none, queued, running, failed, switched, purged) and the newest
    move's step, timings and error."""
    requests = move_requests(session, tenant.id, limit=1)
    moves = tenant_moves(session, tenant.id, limit=1)
    move = moves[0] if moves else None
    job_status = requests[0].job_status if requests else None
    if job_status in WAITING_JOB_STATUSES:
        status = "queued"
    elif job_status == "started" or (move is not None and move.step in OPEN_STEPS and move.failed_at is None):
        status = "running"
    elif job_status == "failed" or (move is not None and move.step in OPEN_STEPS):
        status = "failed"
    elif move is None:
        status = "none"
    else:
        status = move.step
    return {
        "status": status,
        "label": gettext(STATUS_LABELS.get(status, status)),
        "cell": tenant.cell,
        "move": move.as_dict() if move else None,
    }
