"""The one place the Stripe SDK is configured, from the app's settings (environment only).

``STRIPE_API_KEY`` switches billing on; ``STRIPE_API_BASE`` points the SDK elsewhere (a local fake in
tests and development). Without a key billing is off and every tenant is entitled to everything.
"""

from __future__ import annotations

import os
from types import ModuleType

import stripe
from flask import current_app

from saas.errors import SaasError

# Transient network failures are retried by the SDK itself (with idempotency keys on POSTs).
NETWORK_RETRIES = 2


class BillingOff(SaasError):
    status = 404
    title = "Billing is off"


def billing_enabled() -> bool:
    return bool(current_app.config.get("STRIPE_API_KEY"))


def stripe_api() -> ModuleType:
    """The ``stripe`` module, configured for the current app; raises :class:`BillingOff` without a key."""
    config = current_app.config
    key = config.get("STRIPE_API_KEY")
    if not key:
        raise BillingOff("Billing is not configured on this server (no STRIPE_API_KEY).")
    # The SDK reads these module globals on every request; they are constant per process in production.
    stripe.api_key = key
    stripe.api_base = config.get("STRIPE_API_BASE") or _DEFAULT_API_BASE
    stripe.max_network_retries = NETWORK_RETRIES
    return stripe


_DEFAULT_API_BASE = stripe.api_base


def _forget_http_client_in_child() -> None:
    # A forked job must not share the parent's pooled HTTPS connections to Stripe.
    stripe.default_http_client = None


os.register_at_fork(after_in_child=_forget_http_client_in_child)


def stripe_error_summary(error: Exception) -> str:
    """A short, PII-free description of a Stripe failure for logs and the billing account."""
    if isinstance(error, stripe.StripeError):
        code = getattr(error, "code", None) or type(error).__name__
        status = getattr(error, "http_status", None)
        return f"{code} (HTTP {status})" if status else str(code)
    return type(error).__name__
