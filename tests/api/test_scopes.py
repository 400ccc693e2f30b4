"""Scopes are enforced on every API route of the URL map, centrally; revoked credentials die at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from werkzeug.routing import IntegerConverter, UUIDConverter

from saas.api.access import api_scopes, required_scope
from saas.api.credentials import revoke_api_token
from saas.api.models import OAuthToken
from saas.auth.services import add_member
from saas.db import db
from tests.api.helpers import client_token, scoped_token
from tests.conftest import PASSWORD, bearer, make_token


def _placeholder(converter) -> object:
    if isinstance(converter, UUIDConverter):
        return uuid.uuid4()
    return 1 if isinstance(converter, IntegerConverter) else "x"


# API routes that authenticate otherwise (or not at all); every other API route must take bearer tokens.
PUBLIC_ENDPOINTS = {
    "openapi.spec",
    "api_docs.reference",
    "api_oauth.issue_token",
    "service_portal.inbound_mail",
}


def _takes_bearer_tokens(view) -> bool:
    return getattr(view, "_spec", {}).get("auth") is not None


def api_operations(app) -> list[tuple[str, str, str]]:
    """(method, URL, scope) of every token-authenticated API route, with unknown ids in its placeholders."""
    adapter = app.url_map.bind("localhost")
    operations = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not _takes_bearer_tokens(app.view_functions[rule.endpoint]):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            scope = required_scope(rule.rule, method)
            values = {name: _placeholder(conv) for name, conv in rule._converters.items()}
            operations.append((method, adapter.build(rule.endpoint, values, method=method), scope))
    return operations


def test_every_api_route_takes_bearer_tokens_unless_known_public(app):
    untokened = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not _takes_bearer_tokens(app.view_functions[rule.endpoint])
    }
    assert untokened <= PUBLIC_ENDPOINTS


def test_every_api_route_is_scoped_and_refused_without_its_scope(app, client, tenant_a):
    operations = api_operations(app)
    scopes = set(api_scopes(app))
    assert {"contacts:read", "contacts:write", "deals:read", "deals:write"} <= scopes
    assert len(operations) > 30  # the whole API, not a sample
    for method, url, scope in operations:
        assert client.open(url, method=method, json={}).status_code == 401, (method, url)
        lacking = bearer(scoped_token(tenant_a, scopes - {scope}, name="lacking"))
        refused = client.open(url, method=method, json={}, headers=lacking)
        assert refused.status_code == 403, (method, url, refused.status_code)
        assert refused.json["required_scope"] == scope
        assert refused.mimetype == "application/problem+json"
        holding = bearer(scoped_token(tenant_a, [scope], name="holding"))
        allowed = client.open(url, method=method, json={}, headers=holding)
        assert allowed.status_code not in (401, 403), (method, url, allowed.status_code, allowed.json)


def test_resource_wildcard_and_read_scope_do_not_reach_other_resources_or_writes(client, tenant_a):
    reader = bearer(scoped_token(tenant_a, ["contacts:read"]))
    assert client.get("/api/v1/contacts", headers=reader).status_code == 200
    assert client.post("/api/v1/contacts", json={"last_name": "X"}, headers=reader).status_code == 403
    assert client.get("/api/v1/deals", headers=reader).status_code == 403
    wildcard = bearer(scoped_token(tenant_a, ["contacts:*"]))
    assert client.post("/api/v1/contacts", json={"last_name": "X"}, headers=wildcard).status_code == 201
    assert client.get("/api/v1/accounts", headers=wildcard).status_code == 403


def test_existing_personal_tokens_keep_full_access(client, tenant_a):
    legacy = bearer(make_token(tenant_a))
    assert client.get("/api/v1/deals", headers=legacy).status_code == 200
    assert client.post("/api/v1/accounts", json={"name": "Full"}, headers=legacy).status_code == 201


def test_unknown_scopes_are_refused_when_issuing(client, tenant_a):
    owner = bearer(make_token(tenant_a))
    answer = client.post("/api/v1/api-clients", json={"name": "x", "scopes": ["contacts:fly"]}, headers=owner)
    assert answer.status_code == 422


def test_revoked_personal_token_is_refused_at_once(client, tenant_a):
    token = scoped_token(tenant_a, ["contacts:read"])
    assert client.get("/api/v1/contacts", headers=bearer(token)).status_code == 200
    from saas.api.access import authenticate_bearer

    principal = authenticate_bearer(db.session, token)
    revoke_api_token(db.session, tenant_a.tenant.id, uuid.UUID(principal.id), actor="test")
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(token)).status_code == 401


def test_client_credentials_token_carries_its_scopes_and_dies_with_its_client(client, tenant_a):
    owner = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/api-clients", json={"name": "ERP", "scopes": ["contacts:read", "deals:write"]}, headers=owner
    )
    assert created.status_code == 201, created.json
    client_id, secret = created.json["client_id"], created.json["client_secret"]

    issued = client_token(client, client_id, secret, scope="contacts:read")
    assert issued.status_code == 200, issued.json
    assert issued.json["token_type"] == "Bearer" and issued.json["expires_in"] == 900
    assert issued.json["scope"] == "contacts:read"
    access = bearer(issued.json["access_token"])
    assert client.get("/api/v1/contacts", headers=access).status_code == 200
    assert client.post("/api/v1/contacts", json={"last_name": "No"}, headers=access).status_code == 403

    full = bearer(
        client_token(client, client_id, secret).json["access_token"]
    )  # no scope asked: all of its own
    assert client.post("/api/v1/deals", json={"name": "D", "amount": "1"}, headers=full).status_code == 201

    assert client_token(client, client_id, "wrong-secret").status_code == 401
    assert client_token(client, client_id, secret, scope="accounts:read").json["error"] == "invalid_scope"

    revoked = client.delete(f"/api/v1/api-clients/{created.json['id']}", headers=owner)
    assert revoked.status_code == 204
    assert client.get("/api/v1/contacts", headers=access).status_code == 401
    assert client_token(client, client_id, secret).status_code == 401


def test_expired_client_token_is_refused(client, tenant_a):
    owner = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/api-clients", json={"name": "Short", "scopes": ["contacts:read"]}, headers=owner
    )
    access = client_token(client, created.json["client_id"], created.json["client_secret"]).json[
        "access_token"
    ]
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 200
    for token in db.session.query(OAuthToken).filter_by(client_pk=uuid.UUID(created.json["id"])):
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 401


def test_client_token_sees_only_its_own_tenant(client, tenant_a, tenant_b):
    owner_a, owner_b = bearer(make_token(tenant_a)), bearer(make_token(tenant_b))
    contact = client.post("/api/v1/contacts", json={"last_name": "Secret"}, headers=owner_a).json
    created = client.post(
        "/api/v1/api-clients", json={"name": "B", "scopes": ["contacts:read"]}, headers=owner_b
    )
    access_b = bearer(
        client_token(client, created.json["client_id"], created.json["client_secret"]).json["access_token"]
    )
    assert client.get(f"/api/v1/contacts/{contact['id']}", headers=access_b).status_code == 404
    assert client.get("/api/v1/contacts?q=Secret", headers=access_b).json["data"] == []
    # Tenant B's owner can neither list nor revoke tenant A's clients.
    created_a = client.post(
        "/api/v1/api-clients", json={"name": "A", "scopes": ["contacts:read"]}, headers=owner_a
    )
    assert created_a.json["id"] not in {
        c["id"] for c in client.get("/api/v1/api-clients", headers=owner_b).json["data"]
    }
    assert client.delete(f"/api/v1/api-clients/{created_a.json['id']}", headers=owner_b).status_code == 404


def test_members_cannot_manage_clients_or_webhooks(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "member-api@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    from saas.auth.services import create_api_token

    _, secret = create_api_token(db.session, tenant_a.slug, "member-api@example.com", "member")
    db.session.commit()
    member = bearer(secret)
    assert (
        client.post(
            "/api/v1/api-clients", json={"name": "x", "scopes": ["contacts:read"]}, headers=member
        ).status_code
        == 403
    )
    assert client.get("/api/v1/webhooks", headers=member).status_code == 403


def test_cli_makes_a_scoped_personal_token(app, client, tenant_a):
    import json

    runner = app.test_cli_runner()
    args = ["tokens", "create", "--tenant", tenant_a.slug, "--email", tenant_a.email, "--name", "Reader"]
    result = runner.invoke(args=[*args, "--scope", "contacts:read", "--scope", "deals:read"])
    assert result.exit_code == 0, result.output
    reader = bearer(json.loads(result.stdout.strip().splitlines()[-1])["token"])
    assert client.get("/api/v1/deals", headers=reader).status_code == 200
    assert client.post("/api/v1/contacts", json={"last_name": "No"}, headers=reader).status_code == 403
    assert runner.invoke(args=[*args, "--scope", "contacts:fly"]).exit_code == 2
