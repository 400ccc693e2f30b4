"""Periodic jobs: one scheduler at a time enqueues them, and the worker runs them."""

from __future__ import annotations

from rq import Queue

from saas.jobs import make_worker, redis_connection
from saas.jobs.schedules import LEASE_KEY, PERIODIC_JOBS, run_scheduler


def test_scheduler_holding_the_lease_enqueues_every_periodic_job_once(app_ctx):
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
    jobs = queue.get_jobs()
    make_worker().work(burst=True)
    assert all(job.get_status(refresh=True) == "finished" for job in jobs)
