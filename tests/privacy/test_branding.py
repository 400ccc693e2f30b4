"""The privacy center wears the tenant's branding; admins set it, with safe links and colours only."""

from __future__ import annotations

from tests.conftest import csrf_token_from, login

BRAND = {
    "name": "Acme Privacy",
    "logo_url": "https://cdn.acme.example/logo.png",
    "color": "#123abc",
    "policy_url": "https://acme.example/privacy",
}


def test_admin_brands_the_privacy_center_of_their_tenant_only(client, tenant_a, tenant_b):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/branding")
    saved = client.post(
        f"/t/{tenant_a.slug}/privacy/branding", data={**BRAND, "csrf_token": csrf_token_from(page.text)}
    )
    assert saved.status_code == 302

    center = client.get(f"/hub/{tenant_a.slug}/").text
    assert all(value in center for value in BRAND.values())
    other = client.get(f"/hub/{tenant_b.slug}/").text
    assert "Acme Privacy" not in other and tenant_b.tenant.name in other


def test_unsafe_branding_is_refused_with_form_messages(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/branding")
    bad = client.post(
        f"/t/{tenant_a.slug}/privacy/branding",
        data={"logo_url": "javascript:alert(1)", "color": "red;x", "csrf_token": csrf_token_from(page.text)},
    )
    assert bad.status_code == 422
    assert "Enter an https:// address." in bad.text and "Enter a colour as #rrggbb." in bad.text
    assert "javascript:alert(1)" not in client.get(f"/hub/{tenant_a.slug}/").text
