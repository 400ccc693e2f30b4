"""Lifecycle and entitlements, in one place: what a tenant may do, derived from its subscription.

trialing -> active -> past_due -> read-only (unpaid, paused or cancelled) -> purge, and only after a
grace period and by an explicit command. A read-only tenant signs in, reads and exports; its writes
answer 402 saying how to pay. Without Stripe configured, billing is off and everything is entitled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from flask import current_app, g, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy.orm import Session

from saas.billing.labels import READ_ONLY_REASONS, UNPAID
from saas.billing.models import BillingAccount, Plan
from saas.billing.stripe_client import billing_enabled
from saas.db import TenantRef, db
from saas.errors import PaymentRequired
from saas.i18n import N_


class Lifecycle(StrEnum):
    UNBILLED = "unbilled"  # billing is off on this server
    PENDING = "pending"  # the Stripe customer/subscription is not set up yet (Stripe was unreachable)
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    READ_ONLY = "read_only"


# Stripe subscription status -> lifecycle stage.
_STATUS_LIFECYCLE = {
    "pending": Lifecycle.PENDING,
    "trialing": Lifecycle.TRIALING,
    "active": Lifecycle.ACTIVE,
    "past_due": Lifecycle.PAST_DUE,
    # The first invoice is still being paid: give the customer the benefit of the doubt.
    "incomplete": Lifecycle.PAST_DUE,
    "unpaid": Lifecycle.READ_ONLY,
    "paused": Lifecycle.READ_ONLY,
    "canceled": Lifecycle.READ_ONLY,
    "incomplete_expired": Lifecycle.READ_ONLY,
}


def lifecycle_for(status: str) -> Lifecycle:
    # A status Stripe adds later must not lock anyone out: treat it as needing attention, not as lapsed.
    return _STATUS_LIFECYCLE.get(status, Lifecycle.PAST_DUE)


READ_ONLY_REFUSAL = N_(
    "This workspace is read-only because %(reason)s. You can still sign in, read and export everything. An "
    "owner or admin can add a payment method under Settings > Billing to make it writable again."
)
"""The refusal of a write while read-only; its reason (``READ_ONLY_REASONS``) is a clause made to fit."""


@dataclass(frozen=True)
class Entitlements:
    lifecycle: Lifecycle
    status: str
    plan_key: str | None = None
    plan_name: str | None = None
    modules: frozenset[str] | None = None
    """Module keys included; ``None`` means every module."""
    seats: int | None = None
    """Members allowed; ``None`` means no limit."""
    trial_ends_at: datetime | None = None

    @property
    def billing_enabled(self) -> bool:
        return self.lifecycle is not Lifecycle.UNBILLED

    @property
    def can_write(self) -> bool:
        return self.lifecycle is not Lifecycle.READ_ONLY

    @property
    def read_only_reason(self) -> str | None:
        if self.can_write:
            return None
        return READ_ONLY_REASONS.get(self.status, UNPAID)

    def includes_module(self, key: str) -> bool:
        return self.modules is None or key in self.modules

    def trial_days_left(self, now: datetime | None = None) -> int | None:
        if self.lifecycle is not Lifecycle.TRIALING or self.trial_ends_at is None:
            return None
        seconds = (self.trial_ends_at - (now or datetime.now(UTC))).total_seconds()
        return max(0, math.ceil(seconds / 86400))


EVERYTHING = Entitlements(lifecycle=Lifecycle.UNBILLED, status="unbilled")


def _from_plan(lifecycle: Lifecycle, status: str, plan: Plan | None, trial_ends_at) -> Entitlements:
    return Entitlements(
        lifecycle=lifecycle,
        status=status,
        plan_key=plan.key if plan else None,
        plan_name=plan.name if plan else None,
        modules=frozenset(plan.included_modules) if plan and plan.included_modules is not None else None,
        seats=plan.max_seats if plan else None,
        trial_ends_at=trial_ends_at,
    )


def entitlements_for(session: Session, tenant_id: str) -> Entitlements:
    """What the tenant may do now, from its billing account and plan."""
    if not billing_enabled():
        return EVERYTHING
    account = session.get(BillingAccount, tenant_id)
    if account is None:
        # Created before billing was switched on; the setup sweep gives it a trial.
        return Entitlements(lifecycle=Lifecycle.PENDING, status="pending")
    plan = session.get(Plan, account.plan_key)
    return _from_plan(lifecycle_for(account.status), account.status, plan, account.trial_ends_at)


def current_entitlements(*, refresh: bool = False) -> Entitlements:
    """The bound tenant's entitlements, computed by the guard as the request is bound, then reused."""
    tenant = g.get("tenant")
    if tenant is None:
        return EVERYTHING
    cached = g.get("billing_entitlements")
    if refresh or cached is None or cached[0] != tenant.id:
        cached = g.billing_entitlements = (tenant.id, entitlements_for(db.session, tenant.id))
    return cached[1]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allowed_when_read_only(view):
    """Mark a view whose writes stay open while read-only: paying, and taking one's data out (exports)."""
    view.allowed_when_read_only = True
    return view


def _view_allowed_when_read_only() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "allowed_when_read_only", False))


def billing_page_url(tenant: TenantRef) -> str:
    return url_for("billing_settings.billing", slug=tenant.slug)


def enforce_entitlements(tenant: TenantRef, membership: object) -> None:
    """Tenant guard: refuse what the plan excludes, and every write of a read-only tenant, with 402."""
    from saas.modules.registry import registry
    from saas.modules.switches import BLUEPRINT_MODULES

    entitlements = current_entitlements(refresh=True)
    if not entitlements.billing_enabled:
        return
    module_key = current_app.extensions.get(BLUEPRINT_MODULES, {}).get(request.blueprint)
    if module_key and not entitlements.includes_module(module_key):
        raise PaymentRequired(
            N_(
                "The %(plan)s plan does not include the %(module)s module. An owner or admin can change the "
                "plan under Settings > Billing.",
                plan=entitlements.plan_name,
                module=registry.get(module_key).title,
                translated=("plan", "module"),
            ),
            billing_url=billing_page_url(tenant),
        )
    if entitlements.can_write or request.method in SAFE_METHODS or _view_allowed_when_read_only():
        return
    raise PaymentRequired(
        N_(READ_ONLY_REFUSAL, reason=entitlements.read_only_reason or UNPAID, translated=("reason",)),
        billing_url=billing_page_url(tenant),
        lifecycle=entitlements.lifecycle.value,
    )


@dataclass(frozen=True)
class Banner:
    level: str  # "info", "warning" or "danger"
    message: str
    link: str


def billing_banner() -> Banner | None:
    """The banner a tenant page shows about the trial or a lapsed subscription, if any."""
    tenant = g.get("tenant")
    if tenant is None:
        return None
    entitlements = current_entitlements()
    link = billing_page_url(tenant)
    if entitlements.lifecycle is Lifecycle.TRIALING:
        days = entitlements.trial_days_left()
        message = ngettext(
            "Free trial: %(num)d day left. Add a payment method to keep working after it ends.",
            "Free trial: %(num)d days left. Add a payment method to keep working after it ends.",
            days,
        )
        return Banner("info", message, link)
    if entitlements.lifecycle is Lifecycle.PAST_DUE:
        return Banner(
            "warning",
            gettext("The last payment did not go through. Update the payment method to avoid interruption."),
            link,
        )
    if entitlements.lifecycle is Lifecycle.READ_ONLY:
        return Banner(
            "danger",
            gettext(
                "This workspace is read-only because %(reason)s. Reading and exporting still work.",
                reason=gettext(entitlements.read_only_reason or UNPAID),
            ),
            link,
        )
    return None
