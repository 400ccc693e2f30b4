"""Billing fixtures: a real localstripe (plus tests/billing/fake_stripe_extensions.py) on 127.0.0.1,
reached by the official stripe SDK over HTTP, and billing switched on for each billing test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from saas.billing.models import BillingAccount
from saas.db import db
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3, to show exports work read-only
from tests.privacy.conftest import mail_sink  # noqa: F401 - an aiosmtpd sink for the trial-ending email

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_billing_suite"
WEBHOOK_SECRET = "whsec_billing_suite"


@dataclass
class FakeStripe:
    """The running fake, its test controls, and the events already handed to the app."""

    base: str
    delivered: set[str] = field(default_factory=set)

    def control(self, method: str, path: str, **data) -> dict:
        body = urlencode(data).encode() if method == "POST" else None
        # A loopback http URL of the fake this session started.
        request = Request(f"{self.base}/_config/test/{path}", data=body, method=method)  # noqa: S310
        with urlopen(request, timeout=60) as response:  # noqa: S310
            return json.load(response)

    def events(self) -> list[dict]:
        return self.control("GET", "events")["data"]

    def events_for(self, customer_id: str) -> list[dict]:
        """Events about this customer not handed to the app yet, oldest first."""
        fresh = [
            event
            for event in self.events()
            if event["id"] not in self.delivered and _customer_of(event["data"]["object"]) == customer_id
        ]
        self.delivered.update(event["id"] for event in fresh)
        return fresh

    def requests_to(self, method: str, path: str) -> int:
        return sum(
            1 for r in self.control("GET", "requests")["data"] if r["method"] == method and r["path"] == path
        )


def _customer_of(obj: dict) -> str | None:
    return obj["id"] if obj.get("object") == "customer" else obj.get("customer")


@pytest.fixture(scope="session")
def fake_stripe(tmp_path_factory) -> FakeStripe:
    log = (tmp_path_factory.mktemp("fake-stripe") / "stderr.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.billing.run_fake_stripe"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening "):
            pytest.fail(f"the fake Stripe server did not start (see {log.name})")
        yield FakeStripe(base=f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


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
