"""Billing accounts: the trial at signup, syncing the subscription's state from Stripe, Checkout and
the Customer Portal, the next-invoice estimate and purging lapsed tenants.

Pages, webhooks, jobs and the CLI all call these functions. State is always taken from Stripe's
current objects, never inferred from the order events arrive in.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import Membership, User
from saas.billing.catalog import catalog_is_synced, default_plan, plan_prices, sync_catalog
from saas.billing.entitlements import Lifecycle, lifecycle_for
from saas.billing.models import BillingAccount, Plan
from saas.billing.stripe_client import billing_enabled, stripe_api, stripe_error_summary
from saas.db import TenantRef, db
from saas.errors import NotFound
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)

# Stripe subscription statuses after which the subscription can never come back.
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def account_for(session: Session, tenant_id: str, *, lock: bool = False) -> BillingAccount | None:
    query = select(BillingAccount).where(BillingAccount.tenant_id == tenant_id)
    return session.scalar(query.with_for_update() if lock else query)


def _require_account(session: Session, tenant_id: str) -> BillingAccount:
    account = account_for(session, tenant_id, lock=True)
    if account is None or account.stripe_customer_id is None:
        raise NotFound("Billing for this workspace is still being set up; try again in a few minutes.")
    return account


# --- trial at signup --------------------------------------------------------------------------------


def open_account(session: Session, tenant_id: str) -> BillingAccount:
    """The tenant's billing account, created on the default plan (local trial clock running) if new."""
    account = account_for(session, tenant_id)
    if account is None:
        plan = default_plan(session)
        account = BillingAccount(
            tenant_id=tenant_id,
            plan_key=plan.key,
            status="pending",
            trial_ends_at=datetime.now(UTC) + timedelta(days=plan.trial_days),
        )
        session.add(account)
        session.flush()
    return account


def start_trial(tenant: TenantRef, *, actor: str) -> None:
    """Receiver of ``tenant_provisioned``: a Stripe customer and a trialing subscription, no card.

    Never fails the signup: if Stripe cannot be reached the account stays ``pending`` (fully usable),
    the error is recorded and an RQ job retries with backoff.
    """
    if not billing_enabled():
        return
    try:
        session = db.session
        open_account(session, tenant.id)
        record_audit(session, "billing.trial_started", actor=actor, tenant_id=tenant.id, target=tenant.slug)
        session.commit()
    except Exception:
        db.session.rollback()
        log.exception("billing account for tenant %s could not be opened", tenant.id)
        return
    try:
        set_up_subscription(tenant.id)
    except Exception as error:
        db.session.rollback()
        record_setup_failure(tenant.id, error)
        from saas.billing.jobs import schedule_setup_retry

        schedule_setup_retry(tenant.id)


def record_setup_failure(tenant_id: str, error: Exception) -> None:
    summary = stripe_error_summary(error)
    # A Stripe failure is expected now and then; anything else is a bug and deserves its traceback.
    log.warning(
        "billing setup for tenant %s failed (%s); retrying from a job",
        tenant_id,
        summary,
        exc_info=not isinstance(error, stripe.StripeError),
    )
    try:
        account = account_for(db.session, tenant_id)
        if account is not None:
            account.setup_attempts += 1
            account.setup_error = summary[:500]
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the billing setup failure of tenant %s", tenant_id)


def _owner_email(session: Session, tenant_id: str) -> str | None:
    return session.scalar(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id, Membership.role == "owner")
        .order_by(Membership.created_at)
        .limit(1)
    )


def set_up_subscription(tenant_id: str) -> BillingAccount:
    """Create the Stripe customer and the trial subscription if missing; safe to repeat or run concurrently.

    The account row is locked for the duration, and Stripe idempotency keys derived from the tenant
    make a retry after a crash return the same customer and subscription instead of new ones.
    """
    session = db.session
    api = stripe_api()
    open_account(session, tenant_id)
    session.commit()
    account = account_for(session, tenant_id, lock=True)
    tenant = session.get(Tenant, tenant_id)
    if account.stripe_customer_id is None:
        customer = api.Customer.create(
            name=tenant.name,
            email=_owner_email(session, tenant_id),
            metadata={"tenant_id": tenant.id, "tenant_slug": tenant.slug},
            idempotency_key=f"crm-customer-{tenant.id}",
        )
        account.stripe_customer_id = customer.id
        # Keep the customer even if the subscription fails next; lock again and re-check after.
        session.commit()
        account = account_for(session, tenant_id, lock=True)
    if account.stripe_subscription_id is not None:
        session.commit()
        return account
    plan = session.get(Plan, account.plan_key)
    if not catalog_is_synced(session, plan):
        # Development convenience (production runs `saas billing sync`); the plan lock serialises it.
        session.refresh(plan, with_for_update=True)
        if not catalog_is_synced(session, plan):
            sync_catalog(session)
    subscription = api.Subscription.create(
        customer=account.stripe_customer_id,
        items=subscription_items(session, plan),
        trial_period_days=plan.trial_days,
        # Without a card at the end of the trial, pause (read-only) rather than invoice.
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
        metadata={"tenant_id": tenant.id},
        idempotency_key=f"crm-subscription-{tenant.id}",
    )
    apply_subscription(session, account, subscription, has_payment_method=False)
    account.setup_error = None
    session.commit()
    return account


def subscription_items(session: Session, plan: Plan) -> list[dict[str, str]]:
    """Line items of a subscription to ``plan``: every metered price, plus the base fee if any."""
    items = [{"price": price.stripe_price_id} for _, price in plan_prices(session, plan.key)]
    if plan.stripe_base_price_id:
        items.append({"price": plan.stripe_base_price_id})
    return items


# --- state from Stripe ------------------------------------------------------------------------------


def apply_subscription(
    session: Session, account: BillingAccount, subscription, *, has_payment_method: bool
) -> bool:
    """Copy a Stripe subscription's current state onto the account; returns whether the status changed."""
    previous = account.status
    # Stripe objects are not dicts: optional fields are read with getattr(..., None).
    items = subscription["items"].data if "items" in subscription else []
    account.stripe_subscription_id = subscription.id
    account.status = subscription.status
    account.trial_ends_at = _timestamp(getattr(subscription, "trial_end", None))
    # Since API version 2025-03-31 the billing period lives on the subscription items.
    if items:
        account.current_period_start = _timestamp(getattr(items[0], "current_period_start", None))
        account.current_period_end = _timestamp(getattr(items[0], "current_period_end", None))
    account.cancel_at_period_end = bool(getattr(subscription, "cancel_at_period_end", False))
    account.has_payment_method = has_payment_method or bool(
        getattr(subscription, "default_payment_method", None)
    )
    account.synced_at = datetime.now(UTC)
    read_only = lifecycle_for(account.status) is Lifecycle.READ_ONLY
    if read_only and account.lapsed_at is None:
        account.lapsed_at = datetime.now(UTC)
    elif not read_only:
        account.lapsed_at = None
    if previous != account.status:
        record_audit(
            session,
            "billing.status_changed",
            actor="stripe",
            tenant_id=account.tenant_id,
            target=subscription.id,
            details={"from": previous, "to": account.status},
        )
        return True
    return False


def _current_subscription(subscriptions: list):
    """The subscription that decides the tenant's state: the newest one that can still be live."""
    if not subscriptions:
        return None
    return max(subscriptions, key=lambda s: (s.status not in TERMINAL_STATUSES, s.created))


def _default_payment_method(customer) -> str | None:
    return getattr(getattr(customer, "invoice_settings", None), "default_payment_method", None)


def sync_customer(session: Session, customer_id: str) -> BillingAccount | None:
    """Refresh the account of ``customer_id`` from Stripe's current objects; ``None`` if not ours.

    The account row is locked first, so two webhooks for one customer apply their fetches in turn
    and the later fetch (the newer state) always lands last.
    """
    account = session.scalar(
        select(BillingAccount).where(BillingAccount.stripe_customer_id == customer_id).with_for_update()
    )
    if account is None:
        return None
    api = stripe_api()
    subscriptions = list(
        api.Subscription.list(customer=customer_id, status="all", limit=100).auto_paging_iter()
    )
    current = _current_subscription(subscriptions)
    if current is None:
        return account
    customer = api.Customer.retrieve(customer_id)
    default_method = _default_payment_method(customer)
    apply_subscription(session, account, current, has_payment_method=bool(default_method))
    return account


def send_trial_ending_notice(session: Session, account: BillingAccount) -> int:
    """Email the owners and admins that the trial ends soon (Stripe says so three days before).

    Called once per Stripe event (webhook ids are deduplicated). A mail failure does not fail the
    webhook: the notice is best effort, and the audit entry says how many emails went out.
    """
    from flask import url_for

    from saas.mail import send_mail

    tenant = session.get(Tenant, account.tenant_id)
    recipients = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant.id, Membership.role.in_(("owner", "admin")))
        .order_by(User.email)
    ).all()
    ends = f" on {account.trial_ends_at:%d %B %Y}" if account.trial_ends_at else " soon"
    link = url_for("billing_settings.billing", slug=tenant.slug, _external=True)
    body = (
        f"The free trial of {tenant.name} ends{ends}.\n\n"
        f"Add a payment method to keep working without interruption:\n{link}\n\n"
        "Without one the workspace becomes read-only: you can still sign in, read and export "
        "everything, and nothing is deleted.\n"
    )
    sent = 0
    for email in recipients:
        try:
            sent += send_mail(email, f"Your trial of {tenant.name} ends{ends}", body)
        except (OSError, smtplib.SMTPException):
            log.warning("a trial-ending email for tenant %s could not be sent", tenant.id)
    record_audit(
        session,
        "billing.trial_will_end",
        actor="stripe",
        tenant_id=tenant.id,
        details={
            "trial_ends_at": account.trial_ends_at.isoformat() if account.trial_ends_at else None,
            "emails_sent": sent,
        },
    )
    return sent


# --- Checkout and the Customer Portal ------------------------------------------------------------


def start_checkout(session: Session, tenant_id: str, *, actor: str, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout URL: ``setup`` mode adds a card to the live subscription; a cancelled one
    needs ``subscription`` mode, which starts a new subscription."""
    account = _require_account(session, tenant_id)
    api = stripe_api()
    plan = session.get(Plan, account.plan_key)
    common = {
        "customer": account.stripe_customer_id,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": {"tenant_id": tenant_id},
    }
    if account.stripe_subscription_id and account.status not in TERMINAL_STATUSES:
        mode = "setup"
        checkout = api.checkout.Session.create(mode=mode, currency=plan.currency, **common)
    else:
        mode = "subscription"
        checkout = api.checkout.Session.create(
            mode=mode,
            line_items=subscription_items(session, plan),
            subscription_data={"metadata": {"tenant_id": tenant_id}},
            **common,
        )
    record_audit(
        session, "billing.checkout_started", actor=actor, tenant_id=tenant_id, target=checkout.id,
        details={"mode": mode},
    )  # fmt: skip
    return checkout.url


def complete_checkout(
    session: Session, checkout_session_id: str, *, tenant_id: str | None = None
) -> BillingAccount | None:
    """Act on a completed Checkout session; idempotent, so the webhook and the return page may both call it.

    In setup mode the new card becomes the default of the customer and the subscription, and a
    subscription paused at the end of its trial is resumed (Stripe then invoices it). With
    ``tenant_id`` (the return page), a session of another tenant's customer is ignored.
    """
    api = stripe_api()
    checkout = api.checkout.Session.retrieve(checkout_session_id, expand=["setup_intent"])
    if checkout.status != "complete" or not checkout.customer:
        return None
    account = session.scalar(
        select(BillingAccount).where(BillingAccount.stripe_customer_id == checkout.customer).with_for_update()
    )
    if account is None or (tenant_id is not None and account.tenant_id != tenant_id):
        return None
    if checkout.mode == "setup" and getattr(checkout, "setup_intent", None):
        _make_default_payment_method(api, account, checkout.setup_intent.payment_method)
    return sync_customer(session, account.stripe_customer_id)


def _make_default_payment_method(api, account: BillingAccount, payment_method: str) -> None:
    customer = api.Customer.retrieve(account.stripe_customer_id)
    if _default_payment_method(customer) != payment_method:
        api.Customer.modify(customer.id, invoice_settings={"default_payment_method": payment_method})
    if not account.stripe_subscription_id:
        return
    subscription = api.Subscription.retrieve(account.stripe_subscription_id)
    if getattr(
        subscription, "default_payment_method", None
    ) != payment_method and subscription.status not in (TERMINAL_STATUSES):
        subscription = api.Subscription.modify(subscription.id, default_payment_method=payment_method)
    if subscription.status == "paused":
        api.Subscription.resume(subscription.id, billing_cycle_anchor="now")


def open_portal(session: Session, tenant_id: str, *, actor: str, return_url: str) -> str:
    """A Customer Portal URL for this tenant's Stripe customer, and only this tenant's."""
    account = _require_account(session, tenant_id)
    portal = stripe_api().billing_portal.Session.create(
        customer=account.stripe_customer_id, return_url=return_url
    )
    record_audit(session, "billing.portal_opened", actor=actor, tenant_id=tenant_id, target=portal.id)
    return portal.url


# --- next invoice -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceEstimate:
    amount: int  # minor units
    currency: str
    source: str  # "stripe" (Stripe's preview) or "ledger" (our usage times the plan's prices)


def local_invoice_estimate(plan: Plan, usage: list) -> InvoiceEstimate:
    total = Decimal(plan.base_fee_amount or 0) + sum((row.amount for row in usage), Decimal(0))
    return InvoiceEstimate(int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP)), plan.currency, "ledger")


def next_invoice_estimate(session: Session, account: BillingAccount, usage: list) -> InvoiceEstimate:
    """Stripe's preview of the next invoice; our own estimate from the ledger if Stripe cannot answer."""
    plan = session.get(Plan, account.plan_key)
    if account.stripe_subscription_id and account.status not in TERMINAL_STATUSES:
        try:
            preview = stripe_api().Invoice.create_preview(
                customer=account.stripe_customer_id, subscription=account.stripe_subscription_id
            )
            return InvoiceEstimate(int(preview.amount_due), preview.currency, "stripe")
        except stripe.StripeError as error:
            log.warning(
                "invoice preview failed for tenant %s: %s", account.tenant_id, stripe_error_summary(error)
            )
    return local_invoice_estimate(plan, usage)


# --- purge ------------------------------------------------------------------------------------------


def lapsed_beyond_grace(session: Session, grace_days: int, now: datetime | None = None) -> list[Tenant]:
    """Tenants read-only for longer than ``grace_days``: the only ones a purge may take."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=grace_days)
    accounts = session.scalars(
        select(BillingAccount).where(BillingAccount.lapsed_at.is_not(None), BillingAccount.lapsed_at < cutoff)
    )
    return [
        session.get(Tenant, account.tenant_id)
        for account in accounts
        if lifecycle_for(account.status) is Lifecycle.READ_ONLY
    ]


def purge_lapsed_tenant(session: Session, tenant: Tenant, *, actor: str) -> None:
    """Cancel what is left of the subscription at Stripe, then delete the tenant for good."""
    from saas.tenants.provisioning import purge_tenant

    account = account_for(session, tenant.id)
    if account and account.stripe_subscription_id and account.status not in TERMINAL_STATUSES:
        stripe_api().Subscription.cancel(account.stripe_subscription_id)
    record_audit(
        session, "billing.lapsed_tenant_purged", actor=actor, tenant_id=tenant.id, target=tenant.slug
    )
    purge_tenant(tenant.id, actor=actor)
