"""Outgoing webhooks end to end: emit in a tenant transaction, a real RQ worker, a real HTTP receiver."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.webhooks import services
from saas.webhooks.delivery import requeue_stalled
from saas.webhooks.events import emit
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from saas.webhooks.signing import verify_signature
from saas.webhooks.ssrf import UnsafeWebhookURL, check_webhook_url


@pytest.fixture
def immediate_retries(app, monkeypatch):
    # Backoff of 0 s: RQ requeues at once, so one burst worker runs every retry.
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 0)


def subscribe(fixture, url: str, events: list[str]) -> tuple[str, str]:
    with tenant_session(fixture.ref) as session:
        subscription = services.create_subscription(session, url, events)
        return str(subscription.id), subscription.secret


def test_delivery_signature_verifies_with_the_documented_recipe(app_ctx, tenant_a, receiver):
    _, secret = subscribe(tenant_a, receiver.url, ["contact.created"])
    with tenant_session(tenant_a.ref) as session:
        assert emit(session, "contact.created", {"id": "c1", "email": "ann@example.com"}) == 1
    make_worker().work(burst=True)

    [request] = receiver.received
    body = request.body
    assert verify_signature(secret, request.headers["Webhook-Signature"], body)
    assert not verify_signature(secret, request.headers["Webhook-Signature"], body + b" ")
    assert not verify_signature("whsec_other", request.headers["Webhook-Signature"], body)
    # A replay of an old signed request is refused by the timestamp check.
    assert not verify_signature(secret, request.headers["Webhook-Signature"], body, now=time.time() + 3600)
    envelope = json.loads(body)
    assert envelope["type"] == "contact.created"
    assert envelope["data"] == {"id": "c1", "email": "ann@example.com"}
    assert envelope["id"] == request.headers["Webhook-Id"]


def test_receiver_failing_three_times_gets_the_event_exactly_once(
    app_ctx, tenant_a, receiver, immediate_retries
):
    receiver.statuses = [500, 503, 500]
    subscription_id, _ = subscribe(tenant_a, receiver.url, ["deal.created"])
    with tenant_session(tenant_a.ref) as session:
        emit(session, "deal.created", {"id": "d1", "title": "Big one"})
    make_worker().work(burst=True)

    assert [r.answered for r in receiver.received] == [500, 503, 500, 200]
    assert len(receiver.accepted()) == 1
    # Every attempt carries the same event id, so a receiver can deduplicate.
    assert len({r.headers["Webhook-Id"] for r in receiver.received}) == 1
    with tenant_session(tenant_a.ref) as session:
        [delivery] = services.list_deliveries(session).data
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 4, 200)
        assert str(delivery.id) == receiver.received[0].headers["Webhook-Id"]
        assert str(delivery.subscription_id) == subscription_id
        assert session.get(WebhookSubscription, delivery.subscription_id).consecutive_failures == 0


def test_rolled_back_change_sends_nothing(app_ctx, tenant_a, receiver):
    subscribe(tenant_a, receiver.url, ["*"])
    with pytest.raises(RuntimeError), tenant_session(tenant_a.ref) as session:
        emit(session, "contact.created", {"id": "c2"})
        raise RuntimeError("the change fails after emitting")
    make_worker().work(burst=True)
    assert receiver.received == []
    with tenant_session(tenant_a.ref) as session:
        assert services.list_deliveries(session).data == []


def test_subscription_is_disabled_after_repeated_failed_deliveries(
    app, app_ctx, tenant_a, receiver, immediate_retries, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_RETRIES", 1)
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER", 2)
    receiver.statuses = [500] * 10
    subscribe(tenant_a, receiver.url, ["contact.updated"])
    for n in range(3):
        with tenant_session(tenant_a.ref) as session:
            emit(session, "contact.updated", {"n": n})
        make_worker().work(burst=True)

    # Two deliveries of two attempts each failed; the third event found the subscription off.
    assert len(receiver.received) == 4
    with tenant_session(tenant_a.ref) as session:
        subscription = session.query(WebhookSubscription).one()
        assert not subscription.is_active and subscription.disabled_reason
        statuses = sorted(d.status for d in session.query(WebhookDelivery))
        assert statuses == ["failed", "failed"]


def test_only_subscribed_events_of_the_own_tenant_are_delivered(app_ctx, tenant_a, tenant_b, receiver):
    subscribe(tenant_a, receiver.url, ["deal.stage_changed"])
    with tenant_session(tenant_b.ref) as session:
        assert emit(session, "deal.stage_changed", {"tenant": "b"}) == 0
    with tenant_session(tenant_a.ref) as session:
        assert emit(session, "deal.created", {"tenant": "a"}) == 0
        assert emit(session, "deal.stage_changed", {"tenant": "a"}) == 1
    make_worker().work(burst=True)
    assert [json.loads(r.body)["data"] for r in receiver.received] == [{"tenant": "a"}]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "ftp://93.184.215.14/hook",
        "http://user:pw@93.184.215.14/hook",
    ],
)
def test_ssrf_guard_refuses_private_loopback_and_link_local_outside_test_mode(url):
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url(url, allow_loopback=False)


def test_ssrf_guard_allows_public_addresses_and_loopback_only_when_switched_on():
    assert check_webhook_url("https://93.184.215.14/hook", allow_loopback=False)
    assert check_webhook_url("http://127.0.0.1:9/hook", allow_loopback=True)
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url("http://10.0.0.1/hook", allow_loopback=True)


def test_subscribing_a_private_url_is_refused_when_loopback_is_off(app, app_ctx, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    for url in ("http://127.0.0.1/x", "http://169.254.169.254/x", "http://10.0.0.8/x"):
        with pytest.raises(UnsafeWebhookURL), tenant_session(tenant_a.ref) as session:
            services.create_subscription(session, url, ["*"])


def test_a_delivery_whose_job_was_lost_is_queued_again_by_the_sweep(app_ctx, tenant_a, receiver):
    subscription_id, _ = subscribe(tenant_a, receiver.url, ["*"])
    with tenant_session(tenant_a.ref) as session:
        # As if Redis had been down when the change committed: a row, no job.
        session.add(
            WebhookDelivery(
                subscription_id=uuid.UUID(subscription_id), event="contact.created", payload={"id": "lost"},
                status="pending", attempts=0, created_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        emit(session, "contact.created", {"id": "fresh"})
    make_worker().work(burst=True)
    assert [json.loads(r.body)["data"]["id"] for r in receiver.received] == ["fresh"]

    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 1
    make_worker().work(burst=True)
    assert [json.loads(r.body)["data"]["id"] for r in receiver.received] == ["fresh", "lost"]
    with tenant_session(tenant_a.ref) as session:
        assert requeue_stalled(session) == 0
