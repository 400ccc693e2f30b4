"""Stripe webhooks: verified on the raw body, recorded before acting (a replay is a no-op) and tolerant
of any delivery order, because every handler acts on the object's current state fetched from Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from flask import current_app
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.billing.models import BillingAccount, WebhookEvent
from saas.billing.services import complete_checkout, send_trial_ending_notice, sync_customer
from saas.billing.stripe_client import BillingOff, stripe_api
from saas.errors import SaasError


class InvalidWebhook(SaasError):
    status = 400
    title = "Invalid webhook"


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    event_type: str
    duplicate: bool
    tenant_id: str | None = None


def verify_event(payload: bytes, signature: str | None):
    """The event, if ``payload`` carries a valid ``Stripe-Signature``; :class:`InvalidWebhook` otherwise."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise BillingOff("Stripe webhooks are not configured on this server (no STRIPE_WEBHOOK_SECRET).")
    stripe_api()
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise InvalidWebhook("The webhook's signature or body is not valid.") from error


def handle_webhook(session: Session, payload: bytes, signature: str | None) -> WebhookOutcome:
    """Verify, record and act on one delivery, in one transaction.

    The event id is inserted first; a second delivery of it (even a concurrent one, which waits on
    the key) inserts nothing and does nothing. If acting fails, the whole transaction, event id
    included, rolls back and Stripe's retry gets a fresh chance.
    """
    event = verify_event(payload, signature)
    inserted = session.execute(
        insert(WebhookEvent)
        .values(id=event.id, type=event.type, details={"created": getattr(event, "created", None)})
        .on_conflict_do_nothing(index_elements=[WebhookEvent.id])
        .returning(WebhookEvent.id)
    ).scalar()
    if inserted is None:
        session.rollback()
        return WebhookOutcome(event.id, event.type, duplicate=True)
    try:
        account = _act(session, event)
        row = session.get(WebhookEvent, event.id)
        row.processed_at = datetime.now(UTC)
        row.tenant_id = account.tenant_id if account else None
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return WebhookOutcome(event.id, event.type, duplicate=False, tenant_id=row.tenant_id)


def _customer_of(obj) -> str | None:
    customer = getattr(obj, "customer", None)
    return customer if isinstance(customer, str) else getattr(customer, "id", None)


def _act(session: Session, event) -> BillingAccount | None:
    obj = event.data.object
    kind = event.type
    if kind == "checkout.session.completed":
        return complete_checkout(session, obj.id)
    if not (kind.startswith("customer.subscription.") or kind.startswith("invoice.")):
        return None  # recorded, nothing to do
    customer_id = _customer_of(obj)
    account = sync_customer(session, customer_id) if customer_id else None
    if account is None:
        return None
    if kind == "customer.subscription.trial_will_end":
        send_trial_ending_notice(session, account)
    elif kind in ("invoice.paid", "invoice.payment_failed"):
        record_audit(
            session,
            "billing." + kind.split(".", 1)[1],
            actor="stripe",
            tenant_id=account.tenant_id,
            target=obj.id,
            details={
                "amount_due": getattr(obj, "amount_due", None),
                "currency": getattr(obj, "currency", None),
            },
        )
    return account
