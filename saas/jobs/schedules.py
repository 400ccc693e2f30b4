"""Periodic jobs: one list, enqueued by a single cron scheduler per deployment.

``saas worker`` starts ``saas scheduler`` beside itself. Several workers may run; a Redis lease makes
only one scheduler enqueue at a time, and every periodic job is safe to run twice anyway.
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
from rq.cron import CronScheduler
from werkzeug.utils import import_string

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


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("saas.exports.services.run_due_schedules", interval=300),
    PeriodicJob("saas.exports.services.reap_stale_exports", interval=300),
    PeriodicJob("saas.exports.services.expire_old_exports", cron="17 3 * * *"),
    PeriodicJob("saas.tenants.pool.refill_pool", interval=60),
    PeriodicJob("saas.exports.destinations.retry_due_deliveries", interval=300),
]


def register_periodic(job: PeriodicJob) -> None:
    if job not in PERIODIC_JOBS:
        PERIODIC_JOBS.append(job)


def run_periodic(function: str) -> Any:
    """What the queue runs: the periodic function, inside the worker's app context."""
    return import_string(function)()


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
