"""One fake Stripe per test session (per pytest-xdist worker): a real localstripe with the billing
extensions on 127.0.0.1, reached by the official SDK over HTTP. Every test that turns billing on uses
this one (tests/conftest.py offers it), so the catalog ids the platform tables keep always exist in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a stalled request keeps it from shutting down gracefully
            process.kill()
            process.wait()
        log.close()
