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

from flask import Flask, Response, request
from sqlalchemy import text

from saas.db import TenantRef
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


def _being_moved(error: WorkspaceBeingMoved) -> Response:
    from saas.web.errors import _unavailable

    return _unavailable(error.detail, RETRY_AFTER_SECONDS)


def init_app(app: Flask) -> None:
    from saas.tenants.routing import register_tenant_guard

    register_tenant_guard(refuse_writes_while_moving)
    app.register_error_handler(WorkspaceBeingMoved, _being_moved)
