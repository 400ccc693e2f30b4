"""Background jobs on RQ. Every tenant job names its tenant explicitly and binds itself to it.

A tenant's jobs go to the Redis of its cell (:mod:`saas.cells`) and run on that cell's workers
(``saas worker --cell NAME``); platform jobs (signup mail, billing, the periodic scheduler) stay on the
default cell's Redis.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Worker, get_current_job
from werkzeug.utils import import_string

from saas.cells import DEFAULT_CELL, cell_directory, tenant_cell
from saas.db import db, tenant_pools, tenant_session

log = logging.getLogger(__name__)

QUEUES = ("default",)
CELL_QUEUE_PREFIX = "cell-"


def queue_name(cell: str) -> str:
    """The queue of ``cell``'s jobs: RQ's ``default`` for the default cell, ``cell-<name>`` for another, so
    that even a Redis two cells share (a cell declared without one) never hands a job to the wrong cell."""
    return QUEUES[0] if cell == DEFAULT_CELL else f"{CELL_QUEUE_PREFIX}{cell}"


def _queue_cell(name: str) -> str:
    return name.removeprefix(CELL_QUEUE_PREFIX) if name.startswith(CELL_QUEUE_PREFIX) else DEFAULT_CELL


def redis_connection(cell: str = DEFAULT_CELL) -> Redis:
    """The Redis of ``cell``: ``REDIS_URL`` for the default cell, the cell's ``redis_url`` otherwise (one
    declared without its own shares ``REDIS_URL``; its queue keeps its name)."""
    url = None if cell == DEFAULT_CELL else cell_directory().get(cell).redis_url
    return Redis.from_url(url or current_app.config["REDIS_URL"])


def queue(name: str = "default") -> Queue:
    """A queue of the default cell's Redis: platform jobs (signup mail, billing, periodic jobs)."""
    return Queue(name, connection=redis_connection())


def cell_queue(cell: str) -> Queue:
    """The queue the workers of ``cell`` serve."""
    return Queue(queue_name(cell), connection=redis_connection(cell))


def tenant_queue(tenant_id: str) -> Queue:
    """The queue of the cell the directory places ``tenant_id`` in now: where its jobs must run."""
    return cell_queue(tenant_cell(tenant_id))


def enqueue_for_tenant(tenant_id: str, function: str, *args: Any, **kwargs: Any):
    """Queue ``function(session, *args, **kwargs)`` to run bound to ``tenant_id``'s schema and role, on
    the workers of its cell.

    ``function`` is a dotted path to a service function taking a tenant session first.
    """
    return tenant_queue(tenant_id).enqueue(run_tenant_job, tenant_id, function, *args, **kwargs)


def _forward_to_cell(cell: str, tenant_id: str, function: str, args: tuple, kwargs: dict) -> dict[str, str]:
    """Queue the running job again on ``cell``'s queue, with its own timeout and retries."""
    job = get_current_job()
    options: dict[str, Any] = {"timeout": job.timeout}
    if job.retries_left:
        from rq import Retry

        options["retry"] = Retry(max=job.retries_left, interval=job.retry_intervals or 0)
    cell_queue(cell).enqueue_call(run_tenant_job, args=(tenant_id, function, *args), kwargs=kwargs, **options)
    log.info("job %s of tenant %s handed on to cell %s", function, tenant_id, cell)
    return {"forwarded": cell}


def run_tenant_job(tenant_id: str, function: str, *args: Any, **kwargs: Any) -> Any:
    from saas.modules.registry import registry
    from saas.modules.switches import is_module_enabled
    from saas.tenants.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    cell, job = tenant.cell or DEFAULT_CELL, get_current_job()
    if job is not None and _queue_cell(job.origin) != cell:
        # Queued before a move switched the tenant's cell: its data is no longer in this one.
        db.session.remove()
        return _forward_to_cell(cell, tenant_id, function, args, kwargs)
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


def make_worker(cell: str = DEFAULT_CELL) -> Worker:
    """The worker `saas worker --cell` runs, inside the app context: it serves ``cell``'s queue on the
    cell's Redis only. Each job runs in a forked process."""
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_forget_inherited_connections)
        _fork_hook_installed = True
    served = cell_queue(cell)
    return Worker([served], connection=served.connection)


def work(*, burst: bool, cell: str = DEFAULT_CELL) -> None:
    """Run the worker until it is told to stop (or, in burst mode, until the queues are empty).

    RQ's worker quits when Redis goes away under it (its heartbeat fails), which would leave the
    process running nothing until something restarts it. Instead a fresh worker starts once Redis
    answers again: the periodic sweeps that find jobs lost with Redis's memory need a live worker.
    """
    while True:
        worker = None
        try:
            worker = make_worker(cell)
            # RQ's own scheduler (delayed jobs, retries with an interval) runs per Redis: per cell.
            worker.work(burst=burst, with_scheduler=True)
        except RedisConnectionError:
            log.warning("Redis is unreachable; the worker starts again when it answers")
        # Told to stop (SIGTERM/SIGINT: RQ notes when, idle or busy): done. Otherwise Redis went away.
        if burst or (worker is not None and worker._shutdown_requested_date is not None):
            return
        time.sleep(1)


def enqueue_after_commit(session: Any, function: str, *args: Any, **kwargs: Any) -> None:
    """Queue a tenant job (as :func:`enqueue_for_tenant`, on the session's cell) once ``session`` (a
    ``TenantSession``) commits, so the worker finds what this transaction wrote; nothing is queued if it
    rolls back."""
    from sqlalchemy import event

    pending = session.info.setdefault("jobs_after_commit", [])
    if not pending:

        def _flush(committed: Any) -> None:
            tenant, jobs = committed.tenant, committed.info.pop("jobs_after_commit", [])
            target = cell_queue(tenant.cell)
            for job_function, job_args, job_kwargs in jobs:
                target.enqueue(run_tenant_job, tenant.id, job_function, *job_args, **job_kwargs)

        event.listen(session, "after_commit", _flush, once=True)
        event.listen(session, "after_rollback", lambda s: s.info.pop("jobs_after_commit", None), once=True)
    pending.append((function, args, kwargs))
