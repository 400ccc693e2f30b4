"""Plans, meters and prices are data: `saas billing sync` mirrors them into Stripe idempotently, and the
public pricing page reads the same tables."""

from __future__ import annotations

import json
from decimal import Decimal

import stripe

from saas.billing.models import Meter, MeteredPrice
from saas.db import db
from tests.billing.conftest import API_KEY


def _sync(app) -> dict:
    result = app.test_cli_runner().invoke(args=["billing", "sync"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_sync_is_idempotent_and_a_price_change_makes_a_new_price(app, app_ctx, fake_stripe):
    _sync(app)
    again = _sync(app)
    assert again["created"] == [] and again["updated"] == []
    price = db.session.get(MeteredPrice, ("payg", "emails_sent"))
    old_id = price.stripe_price_id

    price.unit_amount_decimal = Decimal("0.2")
    db.session.commit()
    try:
        changed = _sync(app)
        db.session.expire_all()
        new = db.session.get(MeteredPrice, ("payg", "emails_sent"))
        stripe.api_key, stripe.api_base = API_KEY, fake_stripe.base
        assert changed["updated"] == ["price:crm_payg_emails_sent"] and new.stripe_price_id != old_id
        assert stripe.Price.retrieve(old_id).active is False
        current = stripe.Price.retrieve(new.stripe_price_id)
        meter = db.session.get(Meter, "emails_sent")
        assert current.lookup_key == "crm_payg_emails_sent" and current.unit_amount_decimal == Decimal("0.2")
        assert current.recurring.meter == meter.stripe_meter_id and current.recurring.usage_type == "metered"
    finally:
        db.session.get(MeteredPrice, ("payg", "emails_sent")).unit_amount_decimal = Decimal("0.1")
        db.session.commit()
        _sync(app)


def test_the_pricing_page_shows_the_plans_and_meters_from_the_tables(client):
    page = client.get("/pricing")

    assert page.status_code == 200
    assert "Pay as you go" in page.text and "14-day free trial" in page.text
    assert "€0.30 per user-day" in page.text and "€0.001 per email" in page.text
    assert "first 1,000" in page.text
