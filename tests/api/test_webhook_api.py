"""Webhook subscriptions through the API and the admin page: owners and admins only, one tenant each."""

from __future__ import annotations

from saas.jobs import make_worker
from tests.conftest import bearer, csrf_token_from, login, make_token


def test_subscription_lifecycle_and_delivery_log_through_the_api(client, tenant_a, receiver):
    headers = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["account.created"]}, headers=headers
    )
    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_")
    sub_url = f"/api/v1/webhooks/{created.json['id']}"
    assert "secret" not in client.get(sub_url, headers=headers).json

    client.post("/api/v1/accounts", json={"name": "Hooked Ltd"}, headers=headers)
    make_worker().work(burst=True)
    log = client.get(f"{sub_url}/deliveries", headers=headers).json["data"]
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [("account.created", "succeeded", 1)]
    assert client.get(f"{sub_url}/deliveries?status=failed", headers=headers).json["data"] == []

    off = client.patch(sub_url, json={"is_active": False}, headers=headers)
    assert off.status_code == 200 and off.json["is_active"] is False
    client.post("/api/v1/accounts", json={"name": "Unheard"}, headers=headers)
    make_worker().work(burst=True)
    assert len(receiver.received) == 1
    assert client.delete(sub_url, headers=headers).status_code == 204
    assert client.get(sub_url, headers=headers).status_code == 404


def test_api_refuses_private_urls_and_bad_events_outside_test_mode(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    headers = bearer(make_token(tenant_a))
    for url in (
        "http://127.0.0.1:8000/x",
        "http://10.0.0.5/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
    ):
        refused = client.post("/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=headers)
        assert refused.status_code == 422 and refused.json["errors"]["url"], url
    bad = client.post(
        "/api/v1/webhooks", json={"url": "https://93.184.215.14/x", "events": ["Nope!"]}, headers=headers
    )
    assert bad.status_code == 422


def test_tenant_b_cannot_see_or_change_tenant_a_subscriptions(client, tenant_a, tenant_b, receiver):
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=bearer(make_token(tenant_a))
    ).json
    headers_b = bearer(make_token(tenant_b))
    sub_url = f"/api/v1/webhooks/{created['id']}"
    assert client.get(sub_url, headers=headers_b).status_code == 404
    assert client.patch(sub_url, json={"is_active": False}, headers=headers_b).status_code == 404
    assert client.delete(sub_url, headers=headers_b).status_code == 404
    assert client.get(f"{sub_url}/deliveries", headers=headers_b).status_code == 404
    assert client.get("/api/v1/webhooks", headers=headers_b).json["data"] == []


def test_admin_page_creates_a_client_and_a_subscription_and_shows_the_log(
    client, tenant_a, tenant_b, receiver
):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/api")
    assert page.status_code == 200 and "OAuth2 clients" in page.text
    token = csrf_token_from(page.text)
    made = client.post(
        f"/t/{tenant_a.slug}/settings/api/clients",
        data={"name": "Page client", "scopes": ["contacts:read"], "csrf_token": token},
        follow_redirects=True,
    )
    assert "Page client" in made.text and "secret (shown once)" in made.text
    subscribed = client.post(
        f"/t/{tenant_a.slug}/settings/webhooks",
        data={"url": receiver.url, "events": ["contact.created"], "csrf_token": token},
        follow_redirects=True,
    )
    assert receiver.url in subscribed.text
    refused = client.post(
        f"/t/{tenant_a.slug}/settings/api/clients", data={"name": "No scopes"}, follow_redirects=True
    )
    assert refused.status_code == 400  # CSRF: a form without its token is refused
    # Tenant B's pages do not open for tenant A's owner.
    assert client.get(f"/t/{tenant_b.slug}/settings/api").status_code == 404


def test_api_reference_page_lists_operations_with_their_scopes(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/contacts" in page.text and "contacts:write" in page.text
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/webhooks" in spec["paths"] and "/api/v1/api-clients" in spec["paths"]
    flows = spec["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"] == "/api/v1/oauth/token" and "deals:write" in flows["scopes"]
    move = spec["paths"]["/api/v1/deals/{deal_id}/move"]["post"]
    assert {"OAuth2": ["deals:write"]} in move["security"]


def test_admin_page_switches_rotates_and_deletes_a_subscription(client, tenant_a, receiver):
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=bearer(make_token(tenant_a))
    ).json
    login(client, tenant_a.email, tenant_a.password)
    page_url = f"/t/{tenant_a.slug}/settings/webhooks/{created['id']}"
    page = client.get(page_url)
    assert page.status_code == 200 and "Delivery log" in page.text and created["secret"] in page.text
    token = csrf_token_from(page.text)
    off = client.post(page_url, data={"action": "disable", "csrf_token": token}, follow_redirects=True)
    assert "Subscription disabled." in off.text
    rotated = client.post(page_url, data={"action": "rotate", "csrf_token": token}, follow_redirects=True)
    assert created["secret"] not in rotated.text
    assert client.post(page_url, data={"action": "explode", "csrf_token": token}).status_code == 400
    client.post(page_url, data={"action": "delete", "csrf_token": token})
    assert client.get(page_url).status_code == 404
