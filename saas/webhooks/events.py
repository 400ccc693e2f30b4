"""Emitting events: the one function other code calls, ``emit(session, "deal.created", payload)``.

A delivery row per matching subscription is written in the caller's transaction; the RQ jobs that send
them are queued only after that transaction commits, so a rolled-back change never announces itself.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

EVENT_NAME = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
ALL_EVENTS = "*"
# The documented catalogue (docs/api.md), offered on the subscription page; each one is sent where it
# happens (tests/webhooks/test_offered_events.py delivers every one). Modules may emit further names.
KNOWN_EVENTS = (
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "account.created",
    "account.updated",
    "account.deleted",
    "lead.created",
    "lead.updated",
    "lead.deleted",
    "lead.converted",
    "deal.created",
    "deal.updated",
    "deal.stage_changed",
    "deal.deleted",
    "ticket.created",
    "ticket.updated",
    "campaign.sent",
    "quote.accepted",
)
# The API resource whose records an event carries, where it is not the plural of the event's noun.
EVENT_RESOURCES = {"campaign": "marketing"}
OBJECT_EVENT_PREFIX = "co_"
"""Custom objects' events are ``co_<key>.created|updated|deleted`` (saas.modules.core.objects)."""
_PENDING = "webhook_deliveries_to_queue"
DELIVER_JOB = "saas.webhooks.delivery.deliver"


def _event_resource(noun: str) -> str:
    """The API resource of an event's records: a custom object's (``co_vehicle``) are ``objects``."""
    if noun.startswith(OBJECT_EVENT_PREFIX):
        return "objects"
    return EVENT_RESOURCES.get(noun, noun + "s")


def read_scopes_needed(events: Iterable[str], known_scopes: Collection[str]) -> set[str]:
    """The read scopes a subscriber must hold to be sent ``events``: a delivery carries the record.

    ``*``, or an event of no API resource (a module may emit any ``<noun>.<verb>``), may carry anything,
    so it needs every read scope of the API.
    """
    every_read = {scope for scope in known_scopes if scope.endswith(":read")}
    needed: set[str] = set()
    for name in events:
        noun = name.split(".", 1)[0]
        scope = f"{_event_resource(noun)}:read"
        needed |= every_read if name == ALL_EVENTS or scope not in every_read else {scope}
    return needed


def record_payload(record: object) -> dict[str, Any]:
    """A record's columns as a webhook payload (the same fields the API shows, as strings where not JSON)."""
    from sqlalchemy import inspect

    return {attr.key: getattr(record, attr.key) for attr in inspect(record).mapper.column_attrs}


def _json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    # UUIDs, datetimes and decimals become strings, as the API renders them.
    return json.loads(json.dumps(payload, default=str))


def emit(
    session: Session,
    event: str,
    payload: dict[str, Any],
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> int:
    """Announce ``event`` with ``payload`` (JSON-ready or close) to the tenant's subscribed URLs, and to
    the modules' event listeners (workflows, notifications) with the ``changes`` an update made.

    ``session`` is the caller's tenant session; nothing is sent unless its transaction commits.
    Returns how many deliveries were queued.
    """
    from saas.modules.registry import registry  # modules build on webhooks, not the other way round

    if not EVENT_NAME.match(event):
        raise ValueError(f"malformed event name {event!r}")
    registry.announce(session, event, payload, changes or {})
    subscriptions = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.is_active.is_(True),
            or_(
                WebhookSubscription.events.contains([event]),
                WebhookSubscription.events.contains([ALL_EVENTS]),
            ),
        )
    ).all()
    if not subscriptions:
        return 0
    data = _json_ready(payload)
    queued = session.info.setdefault(_PENDING, [])
    for subscription in subscriptions:
        delivery = WebhookDelivery(
            id=uuid.uuid4(), subscription_id=subscription.id, event=event, payload=data
        )
        session.add(delivery)
        queued.append(str(delivery.id))
    session.flush()
    return len(subscriptions)


def queue_delivery(tenant_id: str, delivery_id: str) -> None:
    """Queue one delivery's job, with RQ retries spaced by exponential backoff."""
    from rq import Retry

    from saas.jobs import enqueue_for_tenant

    spacing = intervals()
    enqueue_for_tenant(tenant_id, DELIVER_JOB, delivery_id, retry=Retry(max=len(spacing), interval=spacing))


def intervals() -> list[int]:
    """Seconds before each retry: base, 4x base, 16x base ... (``WEBHOOK_RETRY_BASE_SECONDS``)."""
    base = int(current_app.config.get("WEBHOOK_RETRY_BASE_SECONDS", 30))
    return [base * 4**n for n in range(int(current_app.config.get("WEBHOOK_MAX_RETRIES", 5)))]


@sa_event.listens_for(TenantSession, "after_commit")
def _queue_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for delivery_id in pending or ():
        try:
            queue_delivery(session.tenant.id, delivery_id)
        except Exception:  # Redis down: the row stays pending; requeue_stalled queues it again later
            log.exception("could not queue webhook delivery %s", delivery_id)


@sa_event.listens_for(TenantSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# Once for the platform: it queues each tenant's sweep on that tenant's cell.
register_periodic(PeriodicJob("saas.webhooks.delivery.requeue_all_stalled", interval=300, per_cell=False))
