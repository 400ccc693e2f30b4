"""Trial at signup, read-only when the trial ends without a card, writable again once paid; billing off
without a Stripe key; signup survives an unreachable Stripe."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.billing.entitlements import Lifecycle, entitlements_for
from saas.billing.usage import record_usage, report_usage_to_stripe
from saas.db import db
from saas.jobs import make_worker
from saas.tenants.models import Tenant
from tests.billing.conftest import API_KEY, account_of, deliver_all
from tests.conftest import bearer, csrf_token_from, login, make_token


def stripe_for(fake_stripe):
    stripe.api_key, stripe.api_base = API_KEY, fake_stripe.base
    return stripe


def test_signup_creates_a_stripe_customer_and_a_trialing_subscription_without_a_card(
    client, fake_stripe, tenant_a
):
    account = account_of(tenant_a)
    api = stripe_for(fake_stripe)

    customer = api.Customer.retrieve(account.stripe_customer_id)
    subscription = api.Subscription.retrieve(account.stripe_subscription_id)

    assert customer.metadata["tenant_id"] == tenant_a.tenant.id and customer.email == tenant_a.email
    assert subscription.customer == customer.id and subscription.status == "trialing"
    assert subscription.trial_settings.end_behavior.missing_payment_method == "pause"
    assert subscription.trial_end - subscription.trial_start == 14 * 86400
    assert subscription.default_payment_method is None
    assert {item.price.recurring.usage_type for item in subscription["items"]["data"]} == {"metered"}
    assert account.status == "trialing" and not account.has_payment_method
    assert entitlements_for(db.session, tenant_a.tenant.id).lifecycle is Lifecycle.TRIALING
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/billing")
    assert "14 days left" in page.text and "Free trial: 14 days left" in page.text
    assert "Add a payment method" in page.text and "Invoices and payment details" in page.text


def test_a_cancelled_subscription_is_read_only_and_checkout_starts_a_new_one(client, fake_stripe, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    account = account_of(tenant_a)
    cancelled, customer = account.stripe_subscription_id, account.stripe_customer_id
    stripe_for(fake_stripe).Subscription.cancel(cancelled)
    deliver_all(client, fake_stripe.events_for(customer))
    assert account_of(tenant_a).status == "canceled"
    assert "subscription was cancelled" in client.get(f"/t/{tenant_a.slug}/contacts").text

    _pay_through_checkout(client, fake_stripe, tenant_a)

    renewed = account_of(tenant_a)
    assert renewed.status == "active" and renewed.stripe_subscription_id != cancelled
    assert stripe_for(fake_stripe).Subscription.retrieve(renewed.stripe_subscription_id).metadata[
        "tenant_id"
    ] == (tenant_a.tenant.id)


def _end_trial(client, fake_stripe, tenant) -> None:
    account = account_of(tenant)
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/end_trial")
    deliver_all(client, fake_stripe.events_for(account.stripe_customer_id))


def _pay_through_checkout(client, fake_stripe, tenant, card_number: str = "4242424242424242") -> None:
    page = client.get(f"/t/{tenant.slug}/settings/billing")
    started = client.post(
        f"/t/{tenant.slug}/settings/billing/checkout", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert started.status_code == 303 and started.headers["Location"].startswith(fake_stripe.base)
    checkout_id = started.headers["Location"].rsplit("/", 1)[1]
    fake_stripe.control("POST", f"checkout/sessions/{checkout_id}/complete", card_number=card_number)
    deliver_all(client, fake_stripe.events_for(account_of(tenant).stripe_customer_id))


def test_trial_end_without_a_card_makes_the_workspace_read_only_until_it_pays(
    client, fake_stripe, s3, tenant_a
):
    login(client, tenant_a.email, tenant_a.password)
    token = make_token(tenant_a)
    assert (
        client.post("/api/v1/contacts", json={"last_name": "Before"}, headers=bearer(token)).status_code
        == 201
    )

    _end_trial(client, fake_stripe, tenant_a)

    account = account_of(tenant_a)
    assert account.status == "paused" and account.lapsed_at is not None
    # Writes are refused with 402 and a way to pay, on the API and on pages.
    refused = client.post("/api/v1/contacts", json={"last_name": "During"}, headers=bearer(token))
    assert refused.status_code == 402 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert (
        problem["billing_url"] == f"/t/{tenant_a.slug}/settings/billing"
        and "payment method" in problem["detail"]
    )
    form = client.get(f"/t/{tenant_a.slug}/contacts/new")
    assert form.status_code == 200  # reading, including forms, still works
    posted = client.post(
        f"/t/{tenant_a.slug}/contacts/new",
        data={"last_name": "During", "csrf_token": csrf_token_from(form.text)},
    )
    assert posted.status_code == 402 and "read-only" in posted.text and "Billing settings" in posted.text
    # Reads work, with a banner; the billing page works.
    listing = client.get("/api/v1/contacts", headers=bearer(token))
    assert listing.status_code == 200 and [c["last_name"] for c in listing.get_json()["data"]] == ["Before"]
    page = client.get(f"/t/{tenant_a.slug}/contacts")
    assert page.status_code == 200 and "Before" in page.text and "is read-only" in page.text
    billing = client.get(f"/t/{tenant_a.slug}/settings/billing")
    assert billing.status_code == 200 and "Read-only" in billing.text
    # Taking everything out stays possible: a full export runs.
    export = client.post("/api/v1/exports", headers=bearer(token))
    assert export.status_code == 202
    db.session.commit()  # the forked job must not inherit an open transaction on this connection
    make_worker().work(burst=True)
    done = client.get(f"/api/v1/exports/{export.get_json()['id']}", headers=bearer(token)).get_json()
    assert done["status"] == "done" and done["rows_written"] >= 1

    _pay_through_checkout(client, fake_stripe, tenant_a)

    account = account_of(tenant_a)
    assert account.status == "active" and account.has_payment_method and account.lapsed_at is None
    assert (
        client.post("/api/v1/contacts", json={"last_name": "After"}, headers=bearer(token)).status_code == 201
    )
    subscription = stripe_for(fake_stripe).Subscription.retrieve(account.stripe_subscription_id)
    assert subscription.status == "active" and subscription.default_payment_method
    assert "is read-only" not in client.get(f"/t/{tenant_a.slug}/contacts").text


def test_a_failed_renewal_is_past_due_and_writable_then_unpaid_is_read_only(client, fake_stripe, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    # A card that attaches but declines charges (Stripe's test card 4000 0000 0000 0341).
    _pay_through_checkout(client, fake_stripe, tenant_a, card_number="4000000000000341")
    account = account_of(tenant_a)
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/end_trial")
    record_usage(tenant_a.tenant.id, "active_users", "someone", 1)
    report_usage_to_stripe()
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/renew")
    deliver_all(client, fake_stripe.events_for(account.stripe_customer_id))

    assert account_of(tenant_a).status == "past_due"
    token = make_token(tenant_a)
    assert (
        client.post("/api/v1/contacts", json={"last_name": "Late"}, headers=bearer(token)).status_code == 201
    )
    assert "payment did not go through" in client.get(f"/t/{tenant_a.slug}/contacts").text

    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/mark_unpaid")
    deliver_all(client, fake_stripe.events_for(account.stripe_customer_id))

    assert account_of(tenant_a).status == "unpaid"
    assert client.post("/api/v1/contacts", json={"last_name": "No"}, headers=bearer(token)).status_code == 402
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_a.tenant.id)
    ).all()
    assert actions.count("billing.payment_failed") == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_signup_succeeds_while_stripe_is_unreachable_and_a_job_finishes_the_setup(
    app, fake_stripe, make_tenant
):
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{_closed_port()}"
    tenant = make_tenant("offline")

    account = account_of(tenant)
    assert account.status == "pending" and account.stripe_customer_id is None
    assert account.setup_error == "APIConnectionError" and account.setup_attempts == 1
    assert entitlements_for(db.session, tenant.tenant.id).can_write

    app.config["STRIPE_API_BASE"] = fake_stripe.base
    db.session.commit()
    make_worker().work(burst=True)

    account = account_of(tenant)
    assert account.status == "trialing" and account.stripe_customer_id and account.setup_error is None


def test_without_a_stripe_key_billing_is_off_and_everything_is_entitled(app, client, make_tenant):
    app.config["STRIPE_API_KEY"] = None
    tenant = make_tenant("free")

    assert account_of(tenant) is None
    login(client, tenant.email, tenant.password)
    page = client.get(f"/t/{tenant.slug}/settings/billing")
    assert page.status_code == 200 and "Billing is off on this server" in page.text
    token = make_token(tenant)
    assert (
        client.post("/api/v1/contacts", json={"last_name": "Free"}, headers=bearer(token)).status_code == 201
    )
    assert "Free trial" not in client.get(f"/t/{tenant.slug}/contacts").text


def test_tenants_created_while_billing_was_off_get_a_trial_from_the_setup_sweep(app, make_tenant):
    app.config["STRIPE_API_KEY"] = None
    tenant = make_tenant("early")
    app.config["STRIPE_API_KEY"] = API_KEY
    assert entitlements_for(db.session, tenant.tenant.id).lifecycle is Lifecycle.PENDING

    result = app.test_cli_runner().invoke(args=["billing", "retry-setup"])

    assert result.exit_code == 0, result.output
    assert account_of(tenant).status == "trialing"


def test_only_tenants_read_only_beyond_the_grace_period_are_purged_and_only_when_asked(
    app, fake_stripe, make_tenant
):
    long_lapsed, recently_lapsed, paying = make_tenant("lapsed"), make_tenant("recent"), make_tenant("paying")
    for fixture, days in ((long_lapsed, 120), (recently_lapsed, 10), (paying, 120)):
        account = account_of(fixture)
        account.status = "trialing" if fixture is paying else "paused"
        account.lapsed_at = datetime.now(UTC) - timedelta(days=days)
        db.session.commit()
    subscription = account_of(long_lapsed).stripe_subscription_id

    listed = app.test_cli_runner().invoke(args=["billing", "purge-lapsed", "--grace-days", "90"])
    assert listed.exit_code == 0 and json.loads(listed.output)["would_purge"] == [long_lapsed.slug]
    assert db.session.get(Tenant, long_lapsed.tenant.id) is not None

    purged = app.test_cli_runner().invoke(args=["billing", "purge-lapsed", "--grace-days", "90", "--yes"])

    assert json.loads(purged.output)["purged"] == [long_lapsed.slug]
    db.session.expire_all()
    assert db.session.get(Tenant, long_lapsed.tenant.id) is None
    assert {db.session.get(Tenant, f.tenant.id).slug for f in (recently_lapsed, paying)} == {
        recently_lapsed.slug,
        paying.slug,
    }
    assert stripe_for(fake_stripe).Subscription.retrieve(subscription).status == "canceled"
