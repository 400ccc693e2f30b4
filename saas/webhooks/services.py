"""Managing webhook subscriptions and reading the delivery log; shared by the admin page and the API.

A subscription sends whole records, so whoever subscribes (``within``: their scopes, None for full access)
must hold the read scope of every event it delivers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.api.access import api_scopes, ensure_grantable
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.pagination import Page, SortKey, keyset_page
from saas.webhooks.delivery import loopback_allowed
from saas.webhooks.events import ALL_EVENTS, EVENT_NAME, read_scopes_needed
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from saas.webhooks.signing import new_secret
from saas.webhooks.ssrf import check_webhook_url

MAX_EVENTS = 50
# Written out rather than formatted from MAX_EVENTS, so that the catalogs can hold it (a page looks a
# refusal's text up to translate it); tests/i18n/test_service_refusals.py keeps the two in step.
EVENTS_EXPECTED = N_('1-50 event names, or ["*"].')


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise ValidationError(N_("Name the events."), {"events": [EVENTS_EXPECTED]})
    names = sorted({str(name).strip() for name in events})
    bad = [name for name in names if name != ALL_EVENTS and not EVENT_NAME.match(name)]
    if bad:
        raise ValidationError(
            N_("Unknown event name."), {"events": [N_("Not an event name: %(name)s", name=bad[0][:100])]}
        )
    return names


def _clean_description(description: Any) -> str | None:
    text = (description or "").strip() if isinstance(description, str | None) else None
    if text is not None and len(text) > 200:
        raise ValidationError(N_("Description too long."), {"description": [N_("At most 200 characters.")]})
    return text or None


def _ensure_readable(events: list[str], within: frozenset[str] | None) -> list[str]:
    """``events`` if the subscriber may read what they deliver; else 403 naming the missing scopes."""
    needed = read_scopes_needed(events, api_scopes(current_app))
    ensure_grantable(within, needed, f"a subscription to {', '.join(events)[:200]}")
    return events


def create_subscription(
    session: Session,
    url: str,
    events: list[str],
    description: str | None = None,
    *,
    within: frozenset[str] | None = None,
) -> WebhookSubscription:
    """Subscribe ``url`` to ``events``; refused (422) if the URL reaches a private or loopback address,
    and (403) if the subscriber's scopes ``within`` do not read every event's records."""
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        url=check_webhook_url((url or "").strip(), allow_loopback=loopback_allowed()),
        events=_ensure_readable(_clean_events(events), within),
        description=_clean_description(description),
        secret=new_secret(),
        is_active=True,
        consecutive_failures=0,
    )
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(N_("No such webhook subscription."))
    return subscription


def update_subscription(
    session: Session,
    subscription_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    within: frozenset[str] | None = None,
) -> WebhookSubscription:
    """Change URL, events, description or the active switch (switching on clears the failure count).

    Choosing the URL or the events needs the read scopes of the events it will then deliver (``within``):
    pointing someone else's subscription at a new URL is receiving its records.
    """
    subscription = get_subscription(session, subscription_id)
    if "url" in changes or "events" in changes:
        _ensure_readable(_clean_events(changes.get("events", subscription.events)), within)
    if "url" in changes:
        subscription.url = check_webhook_url(
            (changes["url"] or "").strip(), allow_loopback=loopback_allowed()
        )
    if "events" in changes:
        subscription.events = _clean_events(changes["events"])
    if "description" in changes:
        subscription.description = _clean_description(changes["description"])
    if "is_active" in changes:
        subscription.is_active = bool(changes["is_active"])
        if subscription.is_active:
            subscription.consecutive_failures = 0
            subscription.disabled_reason = None
    session.flush()
    return subscription


def rotate_secret(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = get_subscription(session, subscription_id)
    subscription.secret = new_secret()
    return subscription


def delete_subscription(session: Session, subscription_id: uuid.UUID) -> None:
    session.delete(get_subscription(session, subscription_id))
    session.flush()


def list_subscriptions(session: Session, *, cursor: str | None = None, limit: int = 50) -> Page:
    keys = (SortKey(WebhookSubscription.created_at, lambda r: r.created_at, datetime.fromisoformat),
            SortKey(WebhookSubscription.id, lambda r: r.id, uuid.UUID))  # fmt: skip
    return keyset_page(session, select(WebhookSubscription), keys, cursor=cursor, limit=limit)


def list_deliveries(
    session: Session,
    *,
    subscription_id: uuid.UUID | None = None,
    status: str | None = None,
    event: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The delivery log, newest first, optionally for one subscription, status or event."""
    query = select(WebhookDelivery)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if event:
        query = query.where(WebhookDelivery.event == event)
    keys = (SortKey(WebhookDelivery.created_at, lambda r: r.created_at, datetime.fromisoformat),
            SortKey(WebhookDelivery.id, lambda r: r.id, uuid.UUID))  # fmt: skip
    return keyset_page(session, query, keys, cursor=cursor, limit=limit, descending=True)
