"""API: /api/v1/api-clients (OAuth2 clients) and /api/v1/webhooks (subscriptions, delivery log).

Owners and admins only; thin wrappers over :mod:`saas.api.credentials` and :mod:`saas.webhooks.services`.
"""

from __future__ import annotations

import uuid

from apiflask import Schema
from apiflask.fields import UUID, Boolean, DateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf
from flask import current_app, g

from saas.api import api_blueprint, token_auth
from saas.api import credentials as creds
from saas.api.access import api_scopes, requires_role
from saas.db import db
from saas.tenants.routing import current_tenant_session
from saas.webhooks import services as webhooks
from saas.webhooks.models import DELIVERY_STATUSES

api = api_blueprint("integration_api", __name__, tag="API clients and webhooks")

ADMIN_ROLES = ("owner", "admin")

admins_only = requires_role(*ADMIN_ROLES)


class ClientIn(Schema):
    name = String(required=True, validate=Length(1, 100))
    scopes = List(String(validate=Length(1, 100)), required=True, validate=Length(1, 200))


class ClientOut(Schema):
    id = UUID()
    name = String()
    client_id = String()
    scopes = List(String())
    created_at = DateTime()
    revoked_at = DateTime(allow_none=True)


class NewClientOut(ClientOut):
    client_secret = String(metadata={"description": "Shown once; only a digest is kept."})


class ClientList(Schema):
    data = List(Nested(ClientOut))


def _client_body(client, secret: str | None = None) -> dict:
    body = {
        "id": client.id, "name": client.name, "client_id": client.client_id, "scopes": client.scope.split(),
        "created_at": client.created_at, "revoked_at": client.revoked_at,
    }  # fmt: skip
    return body | ({"client_secret": secret} if secret else {})


@api.get("/api-clients")
@api.auth_required(token_auth)
@api.output(ClientList)
@api.doc(summary="List the workspace's OAuth2 clients", responses=[403])
@admins_only
def list_clients():
    return {"data": [_client_body(c) for c in creds.list_clients(db.session, g.tenant.id)]}


@api.post("/api-clients")
@api.auth_required(token_auth)
@api.input(ClientIn)
@api.output(NewClientOut, status_code=201)
@api.doc(summary="Create an OAuth2 client-credentials client", responses=[403, 422])
@admins_only
def create_client(json_data: dict):
    client, secret = creds.create_client(
        db.session, g.tenant.id, g.membership.user_id, json_data["name"], json_data["scopes"],
        api_scopes(current_app), within=g.api_principal.scopes,
    )  # fmt: skip
    db.session.commit()
    return _client_body(client, secret)


@api.delete("/api-clients/<uuid:client_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Revoke a client and its tokens, at once", responses=[403, 404])
@admins_only
def revoke_client(client_id: uuid.UUID):
    creds.revoke_client(db.session, g.tenant.id, client_id, actor=str(g.membership.user_id))
    db.session.commit()
    return ""


class SubscriptionIn(Schema):
    url = String(required=True, validate=Length(1, 2000))
    events = List(String(validate=Length(1, 100)), required=True, validate=Length(1, 50))
    description = String(allow_none=True, validate=Length(max=200))


class SubscriptionPatch(Schema):
    url = String(validate=Length(1, 2000))
    events = List(String(validate=Length(1, 100)), validate=Length(1, 50))
    description = String(allow_none=True, validate=Length(max=200))
    is_active = Boolean()


class SubscriptionOut(Schema):
    id = UUID()
    url = String()
    events = List(String())
    description = String(allow_none=True)
    is_active = Boolean()
    consecutive_failures = Integer()
    disabled_reason = String(allow_none=True)
    created_at = DateTime()
    updated_at = DateTime()


class NewSubscriptionOut(SubscriptionOut):
    secret = String(metadata={"description": "Signs every delivery (see docs/api.md)."})


class PageQuery(Schema):
    cursor = String(validate=Length(max=500))
    limit = Integer(load_default=50, validate=lambda n: 1 <= n <= 200)


class SubscriptionPage(Schema):
    data = List(Nested(SubscriptionOut))
    next_cursor = String(allow_none=True)


class DeliveryQuery(PageQuery):
    status = String(validate=OneOf(DELIVERY_STATUSES))
    event = String(validate=Length(max=100))


class DeliveryOut(Schema):
    id = UUID()
    subscription_id = UUID()
    event = String()
    status = String()
    attempts = Integer()
    last_status_code = Integer(allow_none=True)
    last_error = String(allow_none=True)
    created_at = DateTime()
    last_attempt_at = DateTime(allow_none=True)
    delivered_at = DateTime(allow_none=True)


class DeliveryPage(Schema):
    data = List(Nested(DeliveryOut))
    next_cursor = String(allow_none=True)


def _page(page) -> dict:
    return {"data": page.data, "next_cursor": page.next_cursor}


@api.get("/webhooks")
@api.auth_required(token_auth)
@api.input(PageQuery, location="query")
@api.output(SubscriptionPage)
@api.doc(summary="List webhook subscriptions", responses=[403])
@admins_only
def list_subscriptions(query_data: dict):
    return _page(webhooks.list_subscriptions(current_tenant_session(), **query_data))


@api.post("/webhooks")
@api.auth_required(token_auth)
@api.input(SubscriptionIn)
@api.output(NewSubscriptionOut, status_code=201)
@api.doc(
    summary="Subscribe a URL to events",
    description="Private and loopback URLs are refused; the token needs the read scope of every event.",
    responses=[403, 422],
)
@admins_only
def create_subscription(json_data: dict):
    return webhooks.create_subscription(
        current_tenant_session(), json_data["url"], json_data["events"], json_data.get("description"),
        within=g.api_principal.scopes,
    )  # fmt: skip


@api.get("/webhooks/<uuid:subscription_id>")
@api.auth_required(token_auth)
@api.output(SubscriptionOut)
@api.doc(summary="Read a webhook subscription", responses=[403, 404])
@admins_only
def get_subscription(subscription_id: uuid.UUID):
    return webhooks.get_subscription(current_tenant_session(), subscription_id)


@api.patch("/webhooks/<uuid:subscription_id>")
@api.auth_required(token_auth)
@api.input(SubscriptionPatch)
@api.output(SubscriptionOut)
@api.doc(summary="Change a subscription; `is_active: true` re-enables it", responses=[403, 404, 412, 422])
@admins_only
def update_subscription(subscription_id: uuid.UUID, json_data: dict):
    return webhooks.update_subscription(
        current_tenant_session(), subscription_id, json_data, within=g.api_principal.scopes
    )


@api.delete("/webhooks/<uuid:subscription_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a subscription and its delivery log", responses=[403, 404, 412])
@admins_only
def delete_subscription(subscription_id: uuid.UUID):
    webhooks.delete_subscription(current_tenant_session(), subscription_id)
    return ""


@api.get("/webhooks/<uuid:subscription_id>/deliveries")
@api.auth_required(token_auth)
@api.input(DeliveryQuery, location="query")
@api.output(DeliveryPage)
@api.doc(summary="A subscription's delivery log, newest first", responses=[403, 404])
@admins_only
def list_deliveries(subscription_id: uuid.UUID, query_data: dict):
    session = current_tenant_session()
    webhooks.get_subscription(session, subscription_id)
    return _page(webhooks.list_deliveries(session, subscription_id=subscription_id, **query_data))
