"""A webhook delivery whose worker is killed (SIGKILL) while the receiver holds the POST is delivered
again, under the same ``Webhook-Id``: at least once, never lost, even when it was RQ's last retry."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq.registry import FailedJobRegistry, StartedJobRegistry

from saas.db import tenant_session
from saas.jobs import make_worker, queue
from saas.webhooks import services
from saas.webhooks.delivery import NEVER_ATTEMPTED_AFTER, requeue_stalled
from saas.webhooks.events import emit
from saas.webhooks.models import WebhookDelivery
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for


@dataclass
class HoldingReceiver:
    """Answers ``statuses`` in turn (then 200), except that the request numbered ``hold`` (0-based) is
    read, recorded, and left unanswered until ``release`` is set: the worker is mid-POST."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    hold: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    received: list[tuple[str, bytes]] = field(default_factory=list)  # (Webhook-Id, body)


@contextmanager
def holding_receiver() -> Iterator[HoldingReceiver]:
    receiver = HoldingReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            number = len(receiver.received)
            receiver.received.append((self.headers["Webhook-Id"], body))
            if number == receiver.hold:
                receiver.release.wait(timeout=120)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the killed worker's socket is gone

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    with holding_receiver() as started:
        yield started


@pytest.fixture
def immediate_retries(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 0)  # RQ requeues at once


def _emit_one(fixture, url: str) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        services.create_subscription(session, url, ["contact.created"])
    with tenant_session(fixture.ref) as session:
        emit(session, "contact.created", {"id": "c1"})
    with tenant_session(fixture.ref) as session:
        [delivery] = session.query(WebhookDelivery).all()
        return delivery.id


def _delivery(fixture, delivery_id: uuid.UUID) -> tuple[str, int]:
    with tenant_session(fixture.ref) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        return delivery.status, delivery.attempts


def _kill_while_held(app, receiver: HoldingReceiver, requests: int) -> None:
    """Run a worker until the receiver holds request number ``requests`` - 1, then kill it there."""
    worker = start_worker(app, WEBHOOKS_ALLOW_LOOPBACK="1")
    try:
        wait_for(lambda: len(receiver.received) == requests, "the worker to POST to the receiver")
    finally:
        kill_with_its_horse(worker)
        receiver.release.set()


def _after_the_job_timeout() -> None:
    """What RQ's registry maintenance does once the dead worker's job is past its timeout: an abandoned
    job with retries left is queued again, one without is filed as failed."""
    StartedJobRegistry(queue=queue()).cleanup(timestamp=time.time() + 24 * 3600)


def test_a_delivery_killed_mid_post_is_retried_under_the_same_id(app, tenant_a, receiver, immediate_retries):
    receiver.hold = 0
    delivery_id = _emit_one(tenant_a, receiver.url)
    _kill_while_held(app, receiver, requests=1)

    # The receiver got the POST but the attempt was never recorded: it died with the worker's transaction.
    wait_for(lambda: _delivery(tenant_a, delivery_id) == ("pending", 0), "the killed attempt to roll back")
    _after_the_job_timeout()
    make_worker().work(burst=True)

    assert _delivery(tenant_a, delivery_id) == ("succeeded", 1)
    ids = [webhook_id for webhook_id, _ in receiver.received]
    assert ids == [str(delivery_id), str(delivery_id)]  # at least once, the same id to de-duplicate on
    assert json.loads(receiver.received[1][1])["id"] == str(delivery_id)


def test_a_delivery_killed_on_its_last_retry_is_found_by_the_sweep_and_delivered(
    app, tenant_a, tenant_b, receiver, immediate_retries, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_RETRIES", 1)
    receiver.statuses, receiver.hold = [500], 1  # the first attempt fails, the retry is held and killed
    failed_before = len(FailedJobRegistry(queue=queue()))  # earlier tests' failed jobs may be there
    delivery_id = _emit_one(tenant_a, receiver.url)
    _kill_while_held(app, receiver, requests=2)

    wait_for(lambda: _delivery(tenant_a, delivery_id) == ("retrying", 1), "the killed attempt to roll back")
    _after_the_job_timeout()
    assert len(FailedJobRegistry(queue=queue())) == failed_before + 1  # RQ gave up: nothing would try again
    make_worker().work(burst=True)
    assert _delivery(tenant_a, delivery_id) == ("retrying", 1)

    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 0  # its retry may still be waiting out its backoff
        session.execute(
            WebhookDelivery.__table__.update()
            .where(WebhookDelivery.id == delivery_id)
            .values(last_attempt_at=datetime.now(UTC) - timedelta(days=1))
        )
    with tenant_session(tenant_b.ref) as session:
        assert requeue_stalled(session) == 0  # another tenant's sweep does not see it
    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 1
    make_worker().work(burst=True)

    assert _delivery(tenant_a, delivery_id) == ("succeeded", 2)
    assert [webhook_id for webhook_id, _ in receiver.received] == [str(delivery_id)] * 3
    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 0


def test_a_delivery_whose_queue_entry_was_lost_is_queued_again_after_five_minutes(
    app, tenant_a, receiver, monkeypatch
):
    """Redis restarted empty between the event's commit and its first attempt: the sweep (every five
    minutes) finds the delivery never attempted and queues it again."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", True)
    delivery_id = _emit_one(tenant_a, receiver.url)
    queue().empty()  # what a Redis restart without persistence leaves
    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 0  # a fresh delivery may simply be waiting its turn
        session.execute(
            WebhookDelivery.__table__.update()
            .where(WebhookDelivery.id == delivery_id)
            .values(created_at=datetime.now(UTC) - NEVER_ATTEMPTED_AFTER - timedelta(seconds=1))
        )
    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 1
    make_worker().work(burst=True)

    assert _delivery(tenant_a, delivery_id) == ("succeeded", 1)
    assert [webhook_id for webhook_id, _ in receiver.received] == [str(delivery_id)]
