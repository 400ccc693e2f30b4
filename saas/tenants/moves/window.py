"""The read-only window of a move: while the mover holds the tenant's move lock (a PostgreSQL advisory
lock on the old cell's database), writes of that tenant answer 503 with ``Retry-After``; reads go on.

Each write request takes the lock *shared* in its own transaction before it changes anything, so the mover
taking it *exclusively* first waits out the writes under way, then refuses new ones; if the mover dies
its connection ends and the lock with it, and the tenant is writable again. Once a move has switched, the
old schema is unwritable (no CREATE on it, no INSERT/UPDATE/DELETE on its tables): a request still bound
to it gets the same 503 and its retry finds the new cell.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, g, request
from psycopg import errors as pg_errors
from sqlalchemy import text

from saas.db import TenantRef, db
from saas.errors import SaasError
from saas.i18n import N_

RETRY_AFTER_SECONDS = 10
_LOCK_SPACE = 0x6D76  # "mv": keeps these keys apart from any other advisory lock's
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

BEING_MOVED = N_(
    "This workspace is being moved to another region. You can keep reading; changes are paused for a "
    "moment and nothing you saved before is lost. Try again in a few seconds."
)


class WorkspaceBeingMoved(SaasError):
    """A write of a tenant in its move's read-only window (or still aimed at the copy it left)."""

    status = 503
    title = "Workspace being moved"


def move_lock_key(tenant_id: str) -> int:
    """The advisory lock key of ``tenant_id``'s moves: 16 bits of namespace, 48 of the tenant."""
    digest = int.from_bytes(hashlib.blake2b(tenant_id.encode(), digest_size=6).digest(), "big")
    return (_LOCK_SPACE << 48) | digest


def refuse_writes_while_moving(tenant: TenantRef, membership: object) -> None:
    """Tenant guard: a write request joins the tenant's move lock (shared) in its own transaction, and
    is refused while a move holds the lock or once this copy of the tenant was left behind."""
    if request.method in READ_METHODS:
        return
    from saas.tenants.routing import current_tenant_session

    joined, writable = (
        current_tenant_session()
        .execute(
            text(
                "SELECT pg_try_advisory_xact_lock_shared(:key), "
                "has_schema_privilege(current_schema(), 'CREATE')"
            ),
            {"key": move_lock_key(tenant.id)},
        )
        .one()
    )
    if not (joined and writable):
        raise WorkspaceBeingMoved(BEING_MOVED)


def wrote_to_a_copy_left_behind(error: BaseException) -> bool:
    """A write the old copy refused by its privileges (revoked at the switch), made by a request that
    passed no tenant guard (public forms, tracking, the customer hub bind their own tenant session): it
    waited on the mover's locks through the window and is told to retry, as guarded writes are, instead
    of getting a 500. Its transaction was rolled back, so nothing was saved."""
    if not isinstance(getattr(error, "orig", None), pg_errors.InsufficientPrivilege):
        return False
    ref = getattr(g.get("tenant_session"), "tenant", None)
    if ref is None:
        return False
    from saas.tenants.models import Tenant
    from saas.tenants.moves.service import open_move

    db.session.rollback()
    directory = db.session.get(Tenant, ref.id)
    return directory is not None and (directory.cell != ref.cell or open_move(ref.id) is not None)


def being_moved_answer() -> Response:
    from saas.web.errors import _unavailable

    return _unavailable(BEING_MOVED, RETRY_AFTER_SECONDS)


def _being_moved(error: WorkspaceBeingMoved) -> Response:
    return being_moved_answer()


def init_app(app: Flask) -> None:
    from saas.tenants.routing import register_tenant_guard

    register_tenant_guard(refuse_writes_while_moving)
    app.register_error_handler(WorkspaceBeingMoved, _being_moved)
