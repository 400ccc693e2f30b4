"""Issue 17 (e): a credential grants at most its own scopes, and subscribes only to what it may read.

An ``api-clients:write`` token made an OAuth client with ``contacts:*`` and read contacts through it; a
``webhooks:write`` token subscribed to ``contact.created`` and so received whole contact records.
"""

from __future__ import annotations

from saas.jobs import make_worker
from tests.api.helpers import client_token, scoped_token
from tests.conftest import bearer, make_token


def assert_escalation_refused(answer, missing: str) -> None:
    assert answer.status_code == 403, answer.json
    assert answer.mimetype == "application/problem+json"
    assert missing in answer.json["missing_scopes"]
    assert "at most its own scopes" in answer.json["detail"] and missing in answer.json["detail"]


def test_client_writer_cannot_mint_a_client_with_contact_scopes(client, tenant_a):
    writer = bearer(scoped_token(tenant_a, ["api-clients:write"]))
    for scopes in (["contacts:*"], ["contacts:read"], ["api-clients:write", "contacts:write"]):
        refused = client.post(
            "/api/v1/api-clients", json={"name": "Escalate", "scopes": scopes}, headers=writer
        )
        assert_escalation_refused(refused, next(s for s in scopes if s.startswith("contacts:")))
    owner = bearer(make_token(tenant_a))
    assert [c["name"] for c in client.get("/api/v1/api-clients", headers=owner).json["data"]] == []

    within = client.post(
        "/api/v1/api-clients", json={"name": "Own", "scopes": ["api-clients:write"]}, headers=writer
    )
    assert within.status_code == 201, within.json


def test_a_wildcard_is_granted_only_by_both_actions_and_the_client_reads_no_more(client, tenant_a):
    reader = bearer(scoped_token(tenant_a, ["api-clients:write", "contacts:read"]))
    wildcard = client.post(
        "/api/v1/api-clients", json={"name": "W", "scopes": ["contacts:*"]}, headers=reader
    )
    assert_escalation_refused(wildcard, "contacts:*")

    made = client.post("/api/v1/api-clients", json={"name": "R", "scopes": ["contacts:read"]}, headers=reader)
    assert made.status_code == 201
    access = bearer(
        client_token(client, made.json["client_id"], made.json["client_secret"]).json["access_token"]
    )
    assert client.get("/api/v1/contacts", headers=access).status_code == 200
    assert client.post("/api/v1/contacts", json={"last_name": "No"}, headers=access).status_code == 403


def test_webhook_writer_cannot_subscribe_to_records_it_cannot_read(client, tenant_a, receiver):
    hooks_only = bearer(scoped_token(tenant_a, ["webhooks:write"]))
    for events in (["contact.created"], ["*"], ["account.created", "contact.updated"]):
        refused = client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": events}, headers=hooks_only
        )
        assert_escalation_refused(refused, "contacts:read")

    contact_reader = bearer(scoped_token(tenant_a, ["webhooks:write", "contacts:read"]))
    deals = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["deal.created"]}, headers=contact_reader
    )
    assert_escalation_refused(deals, "deals:read")
    allowed = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["contact.created"]}, headers=contact_reader
    )
    assert allowed.status_code == 201, allowed.json

    owner = bearer(make_token(tenant_a))
    client.post("/api/v1/deals", json={"name": "Unheard", "amount": "1"}, headers=owner)
    client.post("/api/v1/contacts", json={"last_name": "Heard"}, headers=owner)
    make_worker().work(burst=True)
    assert [r.headers["Webhook-Event"] for r in receiver.received] == ["contact.created"]


def test_redirecting_someone_elses_subscription_needs_its_read_scopes(client, tenant_a, receiver):
    owner = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["contact.created"]}, headers=owner
    )
    url = f"/api/v1/webhooks/{created.json['id']}"
    hooks_only = bearer(scoped_token(tenant_a, ["webhooks:write"]))

    moved = client.patch(url, json={"url": receiver.url + "/elsewhere"}, headers=hooks_only)
    assert_escalation_refused(moved, "contacts:read")
    assert_escalation_refused(client.patch(url, json={"events": ["*"]}, headers=hooks_only), "contacts:read")
    # Switching it off sends nobody anything new.
    assert client.patch(url, json={"is_active": False}, headers=hooks_only).status_code == 200
