"""Background jobs on RQ. Every tenant job names its tenant explicitly and binds itself to it."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Worker
from werkzeug.utils import import_string

from saas.cells import cell_directory
from saas.db import db, tenant_pools, tenant_session

log = logging.getLogger(__name__)

QUEUES = ("default",)


def redis_connection() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"])


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())


def enqueue_for_tenant(tenant_id: str, function: str, *args: Any, **kwargs: Any):
    """Queue ``function(session, *args, **kwargs)`` to run bound to ``tenant_id``'s schema and role.

    ``function`` is a dotted path to a service function taking a tenant session first.
    """
    return queue().enqueue(run_tenant_job, tenant_id, function, *args, **kwargs)


def run_tenant_job(tenant_id: str, function: str, *args: Any, **kwargs: Any) -> Any:
    from saas.modules.registry import registry
    from saas.modules.switches import is_module_enabled
    from saas.tenants.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    module = registry.module_for_path(function)
    if module is not None and not is_module_enabled(db.session, tenant_id, module.key):
        db.session.remove()
        return {"skipped": f"module {module.key} is switched off for this tenant"}
    ref = tenant.ref
    db.session.remove()
    with tenant_session(ref) as session:
        return import_string(function)(session, *args, **kwargs)


_inherited_sessions: list[object] = []


def _forget_inherited_connections() -> None:
    """In a forked job process: never touch the parent's database sockets, not even to close them."""
    try:
        # Keep the inherited session referenced forever: if it were garbage-collected, its pooled
        # connection would be "reset" with a ROLLBACK over the socket the parent still uses.
        _inherited_sessions.append(db.session.registry())
        db.session.registry.clear()
        db.engine.dispose(close=False)
        tenant_pools().dispose(close=False)
        cell_directory().dispose(close=False)
    except RuntimeError:  # forked outside an app context: nothing inherited to forget
        pass


_fork_hook_installed = False


def make_worker(queues: tuple[str, ...] = QUEUES) -> Worker:
    """The worker `saas worker` runs, inside the app context; each job runs in a forked process."""
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_forget_inherited_connections)
        _fork_hook_installed = True
    connection = redis_connection()
    return Worker([Queue(name, connection=connection) for name in queues], connection=connection)


def work(*, burst: bool) -> None:
    """Run the worker until it is told to stop (or, in burst mode, until the queues are empty).

    RQ's worker quits when Redis goes away under it (its heartbeat fails), which would leave the
    process running nothing until something restarts it. Instead a fresh worker starts once Redis
    answers again: the periodic sweeps that find jobs lost with Redis's memory need a live worker.
    """
    while True:
        worker = None
        try:
            worker = make_worker()
            worker.work(burst=burst, with_scheduler=True)
        except RedisConnectionError:
            log.warning("Redis is unreachable; the worker starts again when it answers")
        # Told to stop (SIGTERM/SIGINT: RQ notes when, idle or busy): done. Otherwise Redis went away.
        if burst or (worker is not None and worker._shutdown_requested_date is not None):
            return
        time.sleep(1)


def enqueue_after_commit(session: Any, function: str, *args: Any, **kwargs: Any) -> None:
    """Queue a tenant job (as :func:`enqueue_for_tenant`) once ``session`` (a ``TenantSession``) commits,
    so the worker finds what this transaction wrote; nothing is queued if it rolls back."""
    from sqlalchemy import event

    pending = session.info.setdefault("jobs_after_commit", [])
    if not pending:

        def _flush(committed: Any) -> None:
            for job_function, job_args, job_kwargs in committed.info.pop("jobs_after_commit", []):
                enqueue_for_tenant(committed.tenant.id, job_function, *job_args, **job_kwargs)

        event.listen(session, "after_commit", _flush, once=True)
        event.listen(session, "after_rollback", lambda s: s.info.pop("jobs_after_commit", None), once=True)
    pending.append((function, args, kwargs))
