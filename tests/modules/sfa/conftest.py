"""Fixtures of the sales tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _roomy_quote_link_limit(app, monkeypatch):
    """Tests open quote links from one test address; the limit itself is tested on its own
    (test_quote_api_pages.py: test_the_customer_link_is_rate_limited)."""
    monkeypatch.setitem(app.config, "QUOTE_LINK_RATE_LIMIT", "1000 per minute")
