"""/billing/webhook: verified, recorded before acting (a replay is a no-op), tolerant of any order."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from saas.audit import AuditEntry
from saas.billing.models import WebhookEvent
from saas.db import db
from tests.billing.conftest import account_of, deliver, deliver_all, sign
from tests.conftest import csrf_token_from, login


def _audit(tenant, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tenant_id == tenant.tenant.id, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


def _stored(event_id: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.id == event_id)
    )


def _checkout_completed_at_stripe(client, fake_stripe, tenant) -> str:
    """An admin goes through Checkout (setup mode) and enters a card; the app has not heard yet."""
    login(client, tenant.email, tenant.password)
    page = client.get(f"/t/{tenant.slug}/settings/billing")
    started = client.post(
        f"/t/{tenant.slug}/settings/billing/checkout", data={"csrf_token": csrf_token_from(page.text)}
    )
    checkout_id = started.headers["Location"].rsplit("/", 1)[1]
    fake_stripe.control("POST", f"checkout/sessions/{checkout_id}/complete")
    return checkout_id


def test_the_same_webhook_delivered_twice_acts_once(client, fake_stripe, mail_sink, tenant_a):
    account = account_of(tenant_a)
    fake_stripe.events_for(account.stripe_customer_id)  # signup's events: already reflected
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/trial_will_end")
    [event] = fake_stripe.events_for(account.stripe_customer_id)
    assert event["type"] == "customer.subscription.trial_will_end"

    first = deliver(client, event)
    calls_after_first = len(fake_stripe.control("GET", "requests")["data"])
    second = deliver(client, event)

    assert first.status_code == second.status_code == 200
    assert first.get_json()["duplicate"] is False and second.get_json()["duplicate"] is True
    assert _stored(event["id"]) == 1
    assert len(_audit(tenant_a, "billing.trial_will_end")) == 1
    [notice] = mail_sink.to(tenant_a.email)  # the owner is told once
    assert "trial" in notice["Subject"] and f"/t/{tenant_a.slug}/settings/billing" in notice.get_content()
    # The replay did not even ask Stripe for the current state: it was recognised first.
    assert len(fake_stripe.control("GET", "requests")["data"]) == calls_after_first + 1  # that one GET


def test_events_delivered_in_reverse_order_end_in_the_current_state_with_one_effect(
    client, fake_stripe, tenant_a
):
    account = account_of(tenant_a)
    customer, subscription = account.stripe_customer_id, account.stripe_subscription_id
    fake_stripe.events_for(customer)
    fake_stripe.control("POST", f"subscriptions/{subscription}/end_trial")
    _checkout_completed_at_stripe(client, fake_stripe, tenant_a)
    story = fake_stripe.events_for(customer)
    assert [e["type"] for e in story] == [
        "customer.subscription.paused",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]

    deliver_all(client, list(reversed(story)))
    deliver_all(client, story)  # and Stripe's retries of all of them, in order, for good measure

    account = account_of(tenant_a)
    # The last delivered event carries "paused"; the app acted on Stripe's current state instead.
    assert story[0]["data"]["object"]["status"] == "paused"
    assert account.status == "active" and account.has_payment_method and account.lapsed_at is None
    assert fake_stripe.requests_to("POST", f"/v1/subscriptions/{subscription}/resume") == 1
    changes = [(e.details["from"], e.details["to"]) for e in _audit(tenant_a, "billing.status_changed")]
    assert changes == [("pending", "trialing"), ("trialing", "active")]
    assert all(_stored(e["id"]) == 1 for e in story)


def test_a_bad_signature_is_refused_with_400_and_nothing_is_recorded(client, fake_stripe, tenant_a):
    account = account_of(tenant_a)
    fake_stripe.events_for(account.stripe_customer_id)
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/end_trial")
    event = fake_stripe.events_for(account.stripe_customer_id)[0]
    payload = json.dumps(event)
    tampered = payload.replace('"paused"', '"active"')

    refusals = [
        deliver(client, event, signature=sign(payload, secret="whsec_someone_else")),
        deliver(client, event, signature="t=1,v1=deadbeef"),
        client.post("/billing/webhook", data=payload, headers={"Content-Type": "application/json"}),
        client.post("/billing/webhook", data=tampered, headers={"Stripe-Signature": sign(payload)}),
    ]

    assert [r.status_code for r in refusals] == [400, 400, 400, 400]
    assert all(r.mimetype == "application/problem+json" for r in refusals)
    assert _stored(event["id"]) == 0
    assert account_of(tenant_a).status == "trialing"


def test_an_event_about_a_customer_we_do_not_know_is_recorded_and_ignored(client, fake_stripe, tenant_a):
    account = account_of(tenant_a)
    [created] = [e for e in fake_stripe.events() if e["type"] == "customer.subscription.created"][:1]
    foreign = {
        **created,
        "id": "evt_foreign_1",
        "data": {"object": {**created["data"]["object"], "customer": "cus_x"}},
    }

    response = deliver(client, foreign)

    assert response.status_code == 200 and _stored("evt_foreign_1") == 1
    assert db.session.get(WebhookEvent, "evt_foreign_1").tenant_id is None
    assert account_of(tenant_a).status == account.status
