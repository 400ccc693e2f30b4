"""Security regression tests (issue 17): the API tests' loopback webhook receiver and job cleanup, the
shared SMTP sink, and the link doors' own helpers."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import receiver
from tests.conftest import csrf_token_from, superuser_connection
from tests.mailsink import mail_sink

__all__ = ["mail_sink", "receiver", "superuser_connection"]


@pytest.fixture(autouse=True)
def own_signup_bucket(app, monkeypatch):
    """These tests sign up often from 127.0.0.1: a limit of their own (its own bucket), so the
    signup tests' count on the default limit's allowance still holds."""
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "500 per hour")


# The public doors that mail a sign-in link to whoever asks by email: (path prefix, link job). The customer
# hub is the one door since it replaced the privacy center's and the portal's.
LINK_DOORS = {
    "customer_hub": ("/hub/{slug}/", "saas.modules.privacy.links.send_hub_link"),
}


def ask_for_link(client: FlaskClient, door: str, slug: str, email: str, **request_options):
    path = LINK_DOORS[door][0].format(slug=slug)
    token = csrf_token_from(client.get(path).text)
    return client.post(path, data={"email": email, "csrf_token": token}, **request_options)


def without_csrf_tokens(html: str) -> str:
    """The page as a visitor compares it: the per-request CSRF token aside."""
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)
