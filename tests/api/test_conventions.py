"""HTTP conventions every API resource gets centrally: ETag/If-Match, Idempotency-Key, rate limits."""

from __future__ import annotations

import uuid

from tests.api.helpers import scoped_token
from tests.conftest import bearer, make_token


def test_get_of_a_record_has_an_etag_and_if_none_match_gives_304(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    contact = client.post("/api/v1/contacts", json={"last_name": "Tag"}, headers=headers).json
    first = client.get(f"/api/v1/contacts/{contact['id']}", headers=headers)
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(
        f"/api/v1/contacts/{contact['id']}", headers={**headers, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_if_match_refuses_a_stale_update_and_delete_with_412(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    contact = client.post("/api/v1/contacts", json={"last_name": "Stale"}, headers=headers).json
    url = f"/api/v1/contacts/{contact['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]

    updated = client.patch(url, json={"first_name": "Ann"}, headers={**headers, "If-Match": etag})
    assert updated.status_code == 200
    stale = client.patch(url, json={"first_name": "Bob"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert client.delete(url, headers={**headers, "If-Match": etag}).status_code == 412
    assert client.get(url, headers=headers).json["first_name"] == "Ann"

    fresh = client.get(url, headers=headers).headers["ETag"]
    assert client.delete(url, headers={**headers, "If-Match": fresh}).status_code == 204
    # Without If-Match an update is not refused (no 428): existing clients keep working.
    other = client.post("/api/v1/contacts", json={"last_name": "Free"}, headers=headers).json
    assert (
        client.patch(f"/api/v1/contacts/{other['id']}", json={"title": "x"}, headers=headers).status_code
        == 200
    )


def test_if_match_works_for_function_views_too(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    pipeline = client.get("/api/v1/pipelines", headers=headers).json["data"][0]
    url = f"/api/v1/pipelines/{pipeline['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert (
        client.patch(url, json={"name": "Sales 2"}, headers={**headers, "If-Match": '"other"'}).status_code
        == 412
    )
    assert (
        client.patch(url, json={"name": "Sales 2"}, headers={**headers, "If-Match": etag}).status_code == 200
    )


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, tenant_a, tenant_b):
    headers = bearer(make_token(tenant_a))
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    first = client.post("/api/v1/contacts", json={"last_name": "Once"}, headers={**headers, **key})
    replay = client.post("/api/v1/contacts", json={"last_name": "Once"}, headers={**headers, **key})
    assert first.status_code == replay.status_code == 201
    assert replay.json == first.json and replay.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/api/v1/contacts?q=Once", headers=headers).json["data"]
    assert [c["id"] for c in listed] == [first.json["id"]]

    other_body = client.post("/api/v1/contacts", json={"last_name": "Twice"}, headers={**headers, **key})
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json["detail"]

    # Keys are per tenant: the same key in tenant B is a new request.
    in_b = client.post(
        "/api/v1/contacts", json={"last_name": "Once"}, headers={**bearer(make_token(tenant_b)), **key}
    )
    assert in_b.status_code == 201 and in_b.json["id"] != first.json["id"]


def test_idempotent_refusal_is_replayed_and_does_not_write(client, tenant_a):
    headers = {**bearer(make_token(tenant_a)), "Idempotency-Key": f"bad-{uuid.uuid4()}"}
    first = client.post("/api/v1/contacts", json={}, headers=headers)
    again = client.post("/api/v1/contacts", json={}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"


def test_rate_limit_per_token_answers_429_with_retry_after(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_TOKEN", "3/minute")
    limited = bearer(scoped_token(tenant_a, ["contacts:read"]))
    answers = [client.get("/api/v1/contacts", headers=limited) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json" and refused.json["status"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another token of the same tenant has its own budget.
    assert (
        client.get("/api/v1/contacts", headers=bearer(scoped_token(tenant_a, ["contacts:read"]))).status_code
        == 200
    )


def test_rate_limit_per_ip_counts_every_token_and_anonymous_calls(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_IP", "4/minute")
    address = {"REMOTE_ADDR": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    tokens = [bearer(make_token(tenant_a)) for _ in range(2)]
    answers = [client.get("/api/v1/contacts", headers=tokens[n % 2], environ_base=address) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    refused = client.get("/api/v1/contacts", headers=tokens[0], environ_base=address)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert client.get("/api/v1/openapi.json", environ_base=address).status_code == 429
    assert (
        client.get(
            "/api/v1/contacts", headers=tokens[0], environ_base={"REMOTE_ADDR": "198.51.100.9"}
        ).status_code
        == 200
    )


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_limited(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_IP", "2/minute")
    monkeypatch.setitem(app.config, "API_TRUSTED_PROXIES", 1)
    headers = bearer(make_token(tenant_a))
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    client_ip = f"198.51.100.{uuid.uuid4().int % 250 + 1}"

    def call(forwarded: str):
        return client.get(
            "/api/v1/contacts", headers={**headers, "X-Forwarded-For": forwarded}, environ_base=balancer
        )

    # A forged first entry does not give a fresh budget: the balancer's own entry counts.
    assert [call(f"{n}.{n}.{n}.{n}, {client_ip}").status_code for n in (1, 2, 3)] == [200, 200, 429]
    other_ip = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    assert call(other_ip).status_code == 200
