"""Periodic jobs: one list, enqueued by a single cron scheduler per deployment.

``saas worker`` starts ``saas scheduler`` beside itself. Several workers may run; a Redis lease makes
only one scheduler enqueue at a time, and every periodic job is safe to run twice anyway.

The scheduler queues on the default cell. A job that serves tenants is handed on from there to every
other cell's queue, so that each cell's workers run it for their own cell's tenants only.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from rq.cron import CronScheduler
from werkzeug.utils import import_string

from saas.cells import DEFAULT_CELL, cell_directory

log = logging.getLogger(__name__)

LEASE_KEY = "saas:cron-scheduler-lease"
LEASE_SECONDS = 90
MAX_SLEEP_SECONDS = 30


@dataclass(frozen=True)
class PeriodicJob:
    function: str
    """Dotted path of a platform-level function taking no arguments (it fans out per tenant itself)."""
    interval: int | None = None
    cron: str | None = None
    per_cell: bool = True
    """Whether each cell's workers run it for their own tenants (it walks tenants with ``for_each_tenant``),
    or the default cell's once for the whole platform (it works on the directory: billing, the pool)."""


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("saas.exports.services.run_due_schedules", interval=300),
    PeriodicJob("saas.exports.services.reap_stale_exports", interval=300, per_cell=False),
    PeriodicJob("saas.exports.services.expire_old_exports", cron="17 3 * * *", per_cell=False),
    PeriodicJob("saas.tenants.pool.refill_pool", interval=60, per_cell=False),
    PeriodicJob("saas.exports.destinations.retry_due_deliveries", interval=300),
]


def register_periodic(job: PeriodicJob) -> None:
    if job not in PERIODIC_JOBS:
        PERIODIC_JOBS.append(job)


def run_periodic(function: str, cell: str | None = None) -> Any:
    """What the queue runs: the periodic function, inside the worker's app context.

    The scheduler's run (``cell`` None, on the default cell) of a per-cell job hands it on to every other
    cell's queue and runs it for the default cell's tenants; a handed-on run serves ``cell``'s tenants.
    """
    from saas.jobs.fanout import serving_cell

    if cell is None:
        if not any(job.function == function and job.per_cell for job in PERIODIC_JOBS):
            return import_string(function)()
        for other in cell_directory():
            if other.name != DEFAULT_CELL:
                hand_on_periodic(function, other.name)
        cell = DEFAULT_CELL
    with serving_cell(cell):
        return import_string(function)()


def hand_on_periodic(function: str, cell: str) -> None:
    """Queue ``function`` for ``cell``'s workers, unless its last run there is still waiting (a cell whose
    workers are down must not pile up a run per minute). One cell's Redis being away stops no other."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from saas.jobs import cell_queue

    target = cell_queue(cell)
    job_id = f"periodic-{cell}-{function.replace('.', '_')}"  # RQ ids: letters, digits, - and _
    try:
        try:
            if Job.fetch(job_id, connection=target.connection).get_status() == "queued":
                return
        except NoSuchJobError:
            pass
        target.enqueue(run_periodic, function, cell, job_id=job_id)
    except RedisError:
        log.warning("could not hand periodic job %s on to cell %s: its Redis does not answer", function, cell)


def _hold_lease(connection: Redis, holder: str) -> bool:
    if connection.set(LEASE_KEY, holder, nx=True, ex=LEASE_SECONDS):
        return True
    if connection.get(LEASE_KEY) == holder.encode():
        connection.expire(LEASE_KEY, LEASE_SECONDS)
        return True
    return False


def build_cron_scheduler(connection: Redis) -> CronScheduler:
    name = f"saas:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    scheduler = CronScheduler(connection=connection, name=name)
    for job in PERIODIC_JOBS:
        scheduler.register(
            run_periodic,
            "default",
            args=(job.function,),
            interval=job.interval,
            cron=job.cron,
            name=job.function,
        )
    return scheduler


def run_scheduler(connection: Redis, *, stop_after: float | None = None) -> None:
    """Enqueue periodic jobs when due, while holding the lease; ``stop_after`` bounds a test run."""
    scheduler = build_cron_scheduler(connection)
    started = time.monotonic()
    while stop_after is None or time.monotonic() - started < stop_after:
        try:
            if _hold_lease(connection, scheduler.name):
                for job in scheduler.enqueue_jobs():
                    log.info("periodic job enqueued: %s", job.name)
                sleep = min(scheduler.calculate_sleep_interval(), MAX_SLEEP_SECONDS)
            else:
                sleep = MAX_SLEEP_SECONDS
        except RedisConnectionError:
            # Redis restarted or failed over: wait for it. Exiting would leave the worker beside it
            # without periodic jobs, the sweeps that find jobs lost with Redis's memory among them.
            log.warning("Redis is unreachable; the scheduler goes on when it answers")
            sleep = 1.0
        time.sleep(max(sleep, 0.2) if stop_after is None else 0.2)
