"""Sending one webhook delivery (an RQ job): sign, POST, record the attempt, let RQ retry on failure.

A subscription whose deliveries keep failing (``WEBHOOK_DISABLE_AFTER`` in a row, retries exhausted)
is switched off so that a dead endpoint does not cost us forever.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests
from flask import current_app
from rq import get_current_job
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.db import db
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from saas.webhooks.signing import sign
from saas.webhooks.ssrf import UnsafeWebhookURL, check_webhook_url

TIMEOUT_SECONDS = 10
USER_AGENT = "CRM-Webhooks/1"


class DeliveryFailed(Exception):
    """Raised (after the attempt is committed) so that RQ schedules the next retry."""


def loopback_allowed() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_LOOPBACK"))


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): the event envelope."""
    envelope = {
        "id": str(delivery.id),
        "type": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def _post(subscription: WebhookSubscription, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    """(status code, error) of one attempt; error is None on a 2xx answer."""
    body = delivery_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": str(delivery.id),
        "Webhook-Event": delivery.event,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(subscription.secret, timestamp, body),
    }
    try:
        # Checked again at send time: the name may resolve elsewhere than when it was subscribed.
        check_webhook_url(subscription.url, allow_loopback=loopback_allowed())
        response = requests.post(
            subscription.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
        )
    except UnsafeWebhookURL as error:
        return None, error.reason
    except requests.RequestException as error:
        return None, type(error).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _retries_left() -> int:
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def deliver(session: Session, delivery_id: str) -> dict[str, object]:
    """Attempt one delivery; raises :class:`DeliveryFailed` while RQ has retries left."""
    # Locked: a delivery queued twice (the sweep) is attempted by one job at a time.
    delivery = session.get(WebhookDelivery, uuid.UUID(delivery_id), with_for_update=True)
    if delivery is None or delivery.status in ("succeeded", "failed", "skipped"):
        return {"status": delivery.status if delivery else "missing"}
    subscription = session.get(WebhookSubscription, delivery.subscription_id, with_for_update=True)
    if not subscription.is_active:
        delivery.status = "skipped"
        delivery.last_error = "subscription disabled"
        return {"status": delivery.status}
    status_code, error = _post(subscription, delivery)
    now = datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status_code
    delivery.last_error = error
    if error is None:
        delivery.status = "succeeded"
        delivery.delivered_at = now
        subscription.consecutive_failures = 0
        return {"status": delivery.status, "attempts": delivery.attempts}
    if _retries_left() > 0:
        delivery.status = "retrying"
        session.commit()  # the attempt stays in the log although the job fails
        raise DeliveryFailed(f"delivery {delivery_id} attempt {delivery.attempts}: {error}")
    delivery.status = "failed"
    subscription.consecutive_failures += 1
    limit = int(current_app.config.get("WEBHOOK_DISABLE_AFTER", 5))
    if subscription.consecutive_failures >= limit:
        subscription.is_active = False
        subscription.disabled_reason = f"{limit} deliveries in a row failed"
    return {"status": delivery.status, "attempts": delivery.attempts}


STALLED_AFTER = timedelta(minutes=30)


def requeue_stalled(session: Session) -> int:
    """Queue again the deliveries never attempted (their job was lost, e.g. Redis was down at commit);
    purge finished log entries past their keeping time."""
    from saas.webhooks.events import queue_delivery
    from saas.webhooks.privacy import purge_old_deliveries

    purge_old_deliveries(session)

    cutoff = datetime.now(UTC) - STALLED_AFTER
    stalled = session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == 0,
            WebhookDelivery.created_at < cutoff,
        )
    ).all()
    for delivery_id in stalled:
        queue_delivery(session.tenant.id, str(delivery_id))
    return len(stalled)


def requeue_all_stalled() -> int:
    """Periodic: one sweep job per tenant."""
    from saas.jobs import enqueue_for_tenant
    from saas.tenants.models import Tenant

    tenant_ids = db.session.scalars(select(Tenant.id)).all()
    db.session.remove()
    for tenant_id in tenant_ids:
        enqueue_for_tenant(tenant_id, "saas.webhooks.delivery.requeue_stalled")
    return len(tenant_ids)
