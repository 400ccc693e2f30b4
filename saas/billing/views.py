"""Billing pages: the admin's /t/<slug>/settings/billing, the public /pricing page and the Stripe
webhook endpoint /billing/webhook. Thin: each calls one service.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import stripe
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from saas.billing.catalog import active_plans, default_plan, plan_prices
from saas.billing.entitlements import allowed_when_read_only, current_entitlements
from saas.billing.labels import LIFECYCLE_LABELS, unit_label, unit_price
from saas.billing.models import Plan
from saas.billing.services import (
    account_for,
    complete_checkout,
    local_invoice_estimate,
    next_invoice_estimate,
    open_portal,
    start_checkout,
)
from saas.billing.stripe_client import stripe_error_summary
from saas.billing.usage import billing_window, usage_this_period
from saas.billing.webhooks import handle_webhook
from saas.db import db
from saas.errors import SaasError
from saas.tenants.routing import require_role

log = logging.getLogger(__name__)

settings_pages = Blueprint("billing_settings", __name__, template_folder="templates")
public_pages = Blueprint("billing_public", __name__, template_folder="templates")

BILLING_ROLES = ("owner", "admin")
CURRENCY_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£"}


def money(minor_units: Decimal | int, currency: str) -> str:
    """Minor units (cents, possibly fractional) as a price: ``money(Decimal('0.1'), 'eur')`` is ``€0.001``."""
    major = Decimal(minor_units) / 100
    cents = major.quantize(Decimal("0.01"))
    # Whole cents show two decimals (€0.30); smaller units keep their digits (€0.001).
    text = format(cents if cents == major else major.normalize(), "f")
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


@settings_pages.context_processor
@public_pages.context_processor
def _catalogue_words() -> dict[str, object]:
    return {"lifecycle_labels": LIFECYCLE_LABELS, "unit_label": unit_label, "unit_price": unit_price}


@settings_pages.route("/settings/billing")
def billing():
    require_role(*BILLING_ROLES)
    entitlements = current_entitlements()
    if not entitlements.billing_enabled:
        return render_template("billing/settings.html", entitlements=entitlements)
    session = db.session
    account = account_for(session, g.tenant.id)
    plan = session.get(Plan, account.plan_key) if account else default_plan(session)
    start, end = billing_window(account)
    usage = usage_this_period(session, g.tenant.id, plan.key, start, end)
    ready = account is not None and account.stripe_customer_id is not None
    estimate = (
        next_invoice_estimate(session, account, usage) if ready else local_invoice_estimate(plan, usage)
    )
    return render_template(
        "billing/settings.html",
        entitlements=entitlements,
        account=account,
        plan=plan,
        period=(start, end),
        usage=usage,
        estimate=estimate,
        ready=ready,
    )


def _redirect_to_stripe(create_url) -> object:
    """Run a service that returns a Stripe-hosted URL and send the admin there (303)."""
    try:
        url = create_url()
    except stripe.StripeError as error:
        db.session.rollback()
        log.warning("Stripe refused a billing page action: %s", stripe_error_summary(error))
        flash(gettext("Stripe could not be reached. Please try again in a moment."))
        return redirect(url_for("billing_settings.billing"))
    db.session.commit()
    return redirect(url, code=303)


@settings_pages.route("/settings/billing/checkout", methods=["POST"])
@allowed_when_read_only  # paying must stay possible
def checkout():
    require_role(*BILLING_ROLES)
    done = url_for("billing_settings.checkout_done", _external=True)
    return _redirect_to_stripe(
        lambda: start_checkout(
            db.session,
            g.tenant.id,
            actor=str(current_user.id),
            # Stripe fills in the placeholder; it must reach Stripe unescaped.
            success_url=done + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=url_for("billing_settings.billing", _external=True),
        )
    )


@settings_pages.route("/settings/billing/checkout/done")
def checkout_done():
    require_role(*BILLING_ROLES)
    session_id = request.args.get("session_id", "")
    if session_id:
        try:
            # The webhook does the same; doing it here too shows the result without waiting for it.
            complete_checkout(db.session, session_id, tenant_id=g.tenant.id)
            db.session.commit()
        except stripe.StripeError as error:
            db.session.rollback()
            log.warning("checkout return could not refresh billing: %s", stripe_error_summary(error))
    flash(gettext("Thank you. Your payment method was received."))
    return redirect(url_for("billing_settings.billing"))


@settings_pages.route("/settings/billing/portal", methods=["POST"])
@allowed_when_read_only
def portal():
    require_role(*BILLING_ROLES)
    return _redirect_to_stripe(
        lambda: open_portal(
            db.session,
            g.tenant.id,
            actor=str(current_user.id),
            return_url=url_for("billing_settings.billing", _external=True),
        )
    )


@public_pages.route("/pricing")
def pricing():
    session = db.session
    plans = [(plan, plan_prices(session, plan.key)) for plan in active_plans(session)]
    return render_template("billing/pricing.html", plans=plans)


@public_pages.route("/billing/webhook", methods=["POST"])
def webhook():
    from saas.web.errors import problem

    try:
        outcome = handle_webhook(db.session, request.get_data(), request.headers.get("Stripe-Signature"))
    except SaasError as error:
        return problem(error.status, error.title, error.detail)
    return {"received": True, "id": outcome.event_id, "duplicate": outcome.duplicate}
