"""Tenant B cannot see or change tenant A's billing page, Checkout, portal link or usage; members
who are not owners or admins cannot reach billing at all."""

from __future__ import annotations

from saas.auth.services import add_member
from saas.billing.usage import record_usage
from saas.db import db
from tests.billing.conftest import account_of
from tests.conftest import PASSWORD, csrf_token_from, login


def test_tenant_b_cannot_see_or_change_tenant_a_billing(client, fake_stripe, tenant_a, tenant_b):
    for number in range(7):
        record_usage(tenant_a.tenant.id, "emails_sent", f"a-message-{number}", 1)
    a_account = account_of(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    a_page = client.get(f"/t/{tenant_a.slug}/settings/billing")
    assert "7 emails" in a_page.text
    a_checkout = (
        client.post(
            f"/t/{tenant_a.slug}/settings/billing/checkout", data={"csrf_token": csrf_token_from(a_page.text)}
        )
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    fake_stripe.control("POST", f"checkout/sessions/{a_checkout}/complete")
    client.post("/logout", data={"csrf_token": csrf_token_from(a_page.text)})

    login(client, tenant_b.email, tenant_b.password)
    b_page = client.get(f"/t/{tenant_b.slug}/settings/billing")
    token = csrf_token_from(b_page.text)
    base = f"/t/{tenant_a.slug}/settings/billing"
    # A's workspace does not exist for B: every billing URL under it is a 404, reads and writes alike.
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/portal", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{base}/checkout", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{base}/checkout/done?session_id={a_checkout}").status_code == 404
    # Through B's own pages: B's usage only, B's customer only, and A's Checkout session is ignored.
    assert "0 emails" in b_page.text and "7 emails" not in b_page.text
    customer_calls = fake_stripe.requests_to("POST", f"/v1/customers/{a_account.stripe_customer_id}")
    done = client.get(f"/t/{tenant_b.slug}/settings/billing/checkout/done?session_id={a_checkout}")
    assert done.status_code == 302
    assert fake_stripe.requests_to("POST", f"/v1/customers/{a_account.stripe_customer_id}") == customer_calls
    assert not account_of(tenant_a).has_payment_method
    portal = client.post(f"/t/{tenant_b.slug}/settings/billing/portal", data={"csrf_token": token})
    assert portal.status_code == 303
    [session] = [
        s
        for s in fake_stripe.control("GET", "billing_portal/sessions")["data"]
        if s["url"] == portal.headers["Location"]
    ]
    assert session["customer"] == account_of(tenant_b).stripe_customer_id != a_account.stripe_customer_id


def test_members_who_are_not_admins_cannot_reach_billing(app, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "member@alpha.example", PASSWORD, "member", actor="test")
    db.session.commit()
    client = app.test_client()
    login(client, "member@alpha.example", PASSWORD)
    page = client.get(f"/t/{tenant_a.slug}/contacts")
    token = csrf_token_from(page.text)

    assert client.get(f"/t/{tenant_a.slug}/settings/billing").status_code == 403
    assert (
        client.post(f"/t/{tenant_a.slug}/settings/billing/portal", data={"csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(f"/t/{tenant_a.slug}/settings/billing/checkout", data={"csrf_token": token}).status_code
        == 403
    )
