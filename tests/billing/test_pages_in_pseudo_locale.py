"""The billing pages and banners in the pseudo-locale: the settings page of a trialing workspace, the public
pricing page and a lapsed workspace's banner show no text outside the translation layer (the seeded
catalogue's names included), and read in German for a German reader."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import User
from saas.db import db
from tests.billing.conftest import account_of, deliver_all
from tests.conftest import login
from tests.i18n.test_pseudo_locale import page_leaks, pseudo_locale, pseudo_pages  # noqa: F401


def test_billing_pages_and_banners_show_no_text_outside_the_translation_layer(
    client,
    fake_stripe,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    trialing = pseudo_pages(client, {"billing, trialing": f"{base}/settings/billing", "pricing": "/pricing"})
    account = account_of(tenant_a)
    fake_stripe.control("POST", f"subscriptions/{account.stripe_subscription_id}/end_trial")
    deliver_all(client, fake_stripe.events_for(account.stripe_customer_id))
    assert account_of(tenant_a).status == "paused"
    lapsed = pseudo_pages(
        client, {"billing, read-only": f"{base}/settings/billing", "contacts": f"{base}/contacts"}
    )

    data = {tenant_a.tenant.name, tenant_a.slug, tenant_a.email}
    leaks = {name: page_leaks(text, data) for name, text in (trialing | lapsed).items()}
    assert {name: found for name, found in leaks.items() if found} == {}
    assert "billing-banner-danger" in lapsed["contacts"]


def test_a_german_reader_reads_the_trial_banner_and_the_catalogue_in_german(client, fake_stripe, tenant_a):
    user = db.session.scalar(select(User).where(User.email == tenant_a.email))
    user.locale = "de"
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/billing").text
    assert "Testphase: noch 14 Tage." in page and "Aktive Nutzer" in page
    assert "Free trial" not in page and "Active users" not in page
