"""Issue 17 (b): an Idempotency-Key replays only to its own credential, on its own route, once authorised.

A member once replayed an admin's key on ``POST /api/v1/api-clients`` and received the admin's client
secret: the stored answer was replayed before the view's role check, and keys were scoped by tenant only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.auth.members import change_role
from saas.auth.models import Membership
from saas.auth.services import add_member, create_api_token
from saas.db import db
from tests.api.helpers import scoped_token
from tests.conftest import PASSWORD, bearer, make_token

CLIENT = {"name": "ERP", "scopes": ["contacts:read"]}


def member_token(tenant, role: str) -> tuple[Membership, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    membership = add_member(db.session, tenant.tenant.id, email, PASSWORD, role, actor="test")
    db.session.commit()
    _, secret = create_api_token(db.session, tenant.slug, email, role)
    db.session.commit()
    return membership, secret


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": f"client-{uuid.uuid4()}"}


def assert_own_refusal(answer, created) -> None:
    assert answer.status_code == 403, answer.json
    assert answer.mimetype == "application/problem+json"
    assert "Idempotent-Replayed" not in answer.headers
    assert created.json["client_secret"] not in answer.text and "client_secret" not in answer.json


def test_member_replaying_an_admins_key_gets_their_own_403_never_the_client_secret(client, tenant_a):
    owner, key = bearer(make_token(tenant_a)), new_key()
    created = client.post("/api/v1/api-clients", json=CLIENT, headers={**owner, **key})
    assert created.status_code == 201 and created.json["client_secret"]

    _, member = member_token(tenant_a, "member")
    assert_own_refusal(
        client.post("/api/v1/api-clients", json=CLIENT, headers={**bearer(member), **key}), created
    )

    replay = client.post("/api/v1/api-clients", json=CLIENT, headers={**owner, **key})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == created.json


def test_another_credential_sending_the_key_gets_its_own_answer(client, tenant_a):
    owner, key = bearer(make_token(tenant_a)), new_key()
    created = client.post("/api/v1/api-clients", json=CLIENT, headers={**owner, **key})
    assert created.status_code == 201

    # The same admin's token without the scope: refused by its own scope check, not replayed.
    reader = bearer(scoped_token(tenant_a, ["contacts:read"]))
    refused = client.post("/api/v1/api-clients", json=CLIENT, headers={**reader, **key})
    assert_own_refusal(refused, created)
    assert refused.json["required_scope"] == "api-clients:write"

    # A second full token of the same admin runs the request as its own: a new client, nothing replayed.
    other = client.post("/api/v1/api-clients", json=CLIENT, headers={**bearer(make_token(tenant_a)), **key})
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert other.json["client_id"] != created.json["client_id"]


def test_a_key_belongs_to_its_route(client, tenant_a):
    owner, key = bearer(make_token(tenant_a)), new_key()
    assert client.post("/api/v1/api-clients", json=CLIENT, headers={**owner, **key}).status_code == 201
    contact = client.post("/api/v1/contacts", json={"last_name": "Routed"}, headers={**owner, **key})
    assert contact.status_code == 201 and "Idempotent-Replayed" not in contact.headers
    assert contact.json["last_name"] == "Routed"


def test_an_admin_demoted_to_member_is_refused_before_the_replay(client, tenant_a):
    admin, secret = member_token(tenant_a, "admin")
    key = new_key()
    created = client.post("/api/v1/api-clients", json=CLIENT, headers={**bearer(secret), **key})
    assert created.status_code == 201

    owner = db.session.scalar(
        select(Membership).where(Membership.tenant_id == tenant_a.tenant.id, Membership.role == "owner")
    )
    change_role(db.session, owner, admin.id, "member")
    db.session.commit()
    assert_own_refusal(
        client.post("/api/v1/api-clients", json=CLIENT, headers={**bearer(secret), **key}), created
    )


def test_declared_roles_are_checked_before_anything_answers_for_the_view(app, client, tenant_a):
    assert getattr(app.view_functions["integration_api.create_client"], "api_required_roles", None) == (
        "owner",
        "admin",
    )
    _, member = member_token(tenant_a, "member")
    # Refused for the role before the body is even validated: the bearer check enforces the declaration.
    refused = client.post("/api/v1/api-clients", json={"scopes": "not a list"}, headers=bearer(member))
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
