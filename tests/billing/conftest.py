"""Billing fixtures: a real localstripe (plus tests/billing/fake_stripe_extensions.py) on 127.0.0.1,
reached by the official stripe SDK over HTTP, and billing switched on for each billing test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from saas.billing.models import BillingAccount
from saas.db import db
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3, to show exports work read-only
from tests.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe
from tests.privacy.conftest import mail_sink  # noqa: F401 - an aiosmtpd sink for the trial-ending email

__all__ = ["API_KEY", "WEBHOOK_SECRET", "FakeStripe"]


@pytest.fixture(autouse=True)
def billing_on(app, fake_stripe):
    """Every billing test runs with Stripe configured; the rest of the suite runs with billing off."""
    keys = ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        STRIPE_API_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=fake_stripe.base
    )
    yield
    app.config.update(saved)


def sign(payload: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A ``Stripe-Signature`` header as Stripe computes it: HMAC-SHA256 of ``"{t}.{payload}"``."""
    at = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def deliver(client, event: dict, signature: str | None = None):
    payload = json.dumps(event)
    return client.post(
        "/billing/webhook",
        data=payload,
        headers={"Stripe-Signature": signature or sign(payload), "Content-Type": "application/json"},
    )


def deliver_all(client, events: list[dict]) -> None:
    for event in events:
        response = deliver(client, event)
        assert response.status_code == 200, response.text


def account_of(tenant) -> BillingAccount:
    db.session.expire_all()
    return db.session.get(BillingAccount, tenant.tenant.id)
