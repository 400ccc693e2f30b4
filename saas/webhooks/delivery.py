"""Sending one webhook delivery (an RQ job): sign, POST, record the attempt, let RQ retry on failure.

A subscription whose deliveries keep failing (``WEBHOOK_DISABLE_AFTER`` in a row, retries exhausted)
is switched off so that a dead endpoint does not cost us forever.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import urllib3
from flask import current_app
from rq import get_current_job
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from saas.db import db
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from saas.webhooks.signing import sign
from saas.webhooks.ssrf import (
    Address,
    Resolver,
    UnsafeWebhookURL,
    WebhookTarget,
    resolve_addresses,
    vet_webhook_url,
)

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


def _connection_pool(target: WebhookTarget, address: Address) -> urllib3.HTTPConnectionPool:
    """A pool that connects to ``address``, one the guard checked, never to a fresh DNS answer.

    Over TLS the URL's host name is still what is sent as SNI and what the certificate must name.
    """
    timeout = urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address), target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", ca_certs=current_app.config["WEBHOOK_CA_BUNDLE"],
            server_hostname=target.host,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, retries=False, maxsize=1)


def _post_to(target: WebhookTarget, address: Address, body: bytes, headers: dict[str, str]) -> int:
    pool = _connection_pool(target, address)
    try:
        # The answer's body is never read: only its status counts, and a receiver must not make us download.
        response = pool.urlopen(
            "POST", target.request_target, body=body, headers={**headers, "Host": target.host_header},
            redirect=False, assert_same_host=False, preload_content=False,
        )  # fmt: skip
        return response.status
    finally:
        pool.close()


def _send(target: WebhookTarget, body: bytes, headers: dict[str, str]) -> int:
    """POST to the target's checked addresses in turn, the next only if connecting failed; the status."""
    *fallbacks, last = target.addresses
    for address in fallbacks:
        try:
            return _post_to(target, address, body, headers)
        except (NewConnectionError, ConnectTimeoutError):
            continue  # nothing was sent, so another checked address may answer
    return _post_to(target, last, body, headers)


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, resolve: Resolver = resolve_addresses
) -> tuple[int | None, str | None]:
    """POST ``body`` (JSON) to ``url`` through the same SSRF guard as deliveries (workflow steps call
    webhooks with it); (status code, error), error None on a 2xx answer."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        target = vet_webhook_url(url, allow_loopback=loopback_allowed(), resolve=resolve)
        status_code = _send(target, body, headers)
    except UnsafeWebhookURL as error:
        return None, error.reason
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return None, type(error).__name__
    return status_code, None if 200 <= status_code < 300 else f"HTTP {status_code}"


def _post(
    subscription: WebhookSubscription, delivery: WebhookDelivery, resolve: Resolver
) -> tuple[int | None, str | None]:
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
        # Checked again at send time (the name may resolve elsewhere than when it was subscribed), and
        # the connection goes to the addresses of this very check.
        target = vet_webhook_url(subscription.url, allow_loopback=loopback_allowed(), resolve=resolve)
        status_code = _send(target, body, headers)
    except UnsafeWebhookURL as error:
        return None, error.reason
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return None, type(error).__name__
    if 200 <= status_code < 300:
        return status_code, None
    return status_code, f"HTTP {status_code}"


def _retries_left() -> int:
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def deliver(
    session: Session, delivery_id: str, *, resolve: Resolver = resolve_addresses
) -> dict[str, object]:
    """Attempt one delivery; raises :class:`DeliveryFailed` while RQ has retries left.

    ``resolve`` answers for the URL's host name (the system resolver; tests pass their own).
    """
    # Locked: a delivery queued twice (the sweep) is attempted by one job at a time.
    delivery = session.get(WebhookDelivery, uuid.UUID(delivery_id), with_for_update=True)
    if delivery is None or delivery.status in ("succeeded", "failed", "skipped"):
        return {"status": delivery.status if delivery else "missing"}
    subscription = session.get(WebhookSubscription, delivery.subscription_id, with_for_update=True)
    if not subscription.is_active:
        delivery.status = "skipped"
        delivery.last_error = "subscription disabled"
        return {"status": delivery.status}
    status_code, error = _post(subscription, delivery, resolve)
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
# A delivery is attempted seconds after its event commits; one never attempted after this long lost its
# queue entry (Redis was down at commit, or restarted empty).
NEVER_ATTEMPTED_AFTER = timedelta(minutes=5)


def requeue_stalled(session: Session) -> int:
    """Queue again the deliveries whose job was lost; purge finished log entries past their keeping time.

    Lost: never attempted (Redis was down at commit), or left ``retrying`` longer than the longest
    backoff allows (its worker was killed during the last attempt RQ had, so RQ filed the job as failed
    and nothing would ever try again). The receiver may then get the event twice, under the same
    ``Webhook-Id``: delivery is at least once.
    """
    from saas.webhooks.events import intervals, queue_delivery
    from saas.webhooks.privacy import purge_old_deliveries

    purge_old_deliveries(session)

    now = datetime.now(UTC)
    longest_backoff = timedelta(seconds=max(intervals(), default=0))
    stalled = session.scalars(
        select(WebhookDelivery.id).where(
            or_(
                and_(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.attempts == 0,
                    WebhookDelivery.created_at < now - NEVER_ATTEMPTED_AFTER,
                ),
                and_(
                    WebhookDelivery.status == "retrying",
                    WebhookDelivery.last_attempt_at < now - longest_backoff - STALLED_AFTER,
                ),
            )
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
