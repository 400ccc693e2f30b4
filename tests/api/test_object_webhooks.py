"""A custom object's records announce themselves as ``co_<key>.created|updated|deleted``, to subscribers
holding the ``objects:read`` scope, and only to the workspace that owns them."""

from __future__ import annotations

import json

import pytest

from saas.db import tenant_session
from saas.errors import PermissionDenied
from saas.jobs import make_worker
from saas.webhooks import services
from tests.conftest import bearer, make_token

EVENTS = ["co_vehicle.created", "co_vehicle.updated", "co_vehicle.deleted"]


def _vehicle(client, headers) -> None:
    body = {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles"}
    assert client.post("/api/v1/custom-objects", json=body, headers=headers).status_code == 201


def test_an_objects_record_lifecycle_is_announced_to_its_own_workspace_only(
    client, tenant_a, tenant_b, receiver
):
    headers, other = bearer(make_token(tenant_a)), bearer(make_token(tenant_b))
    _vehicle(client, headers)
    _vehicle(client, other)
    with tenant_session(tenant_b.ref) as session:
        services.create_subscription(session, receiver.url, EVENTS)  # B listens to its own vehicles
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(session, receiver.url, EVENTS)
    record = client.post("/api/v1/objects/vehicle/records", json={"name": "B-XY 1"}, headers=headers).json
    client.patch(f"/api/v1/objects/vehicle/records/{record['id']}", json={"name": "B-XY 2"}, headers=headers)
    client.delete(f"/api/v1/objects/vehicle/records/{record['id']}", headers=headers)
    make_worker().work(burst=True)
    received = [json.loads(r.body) for r in receiver.received]
    assert [body["type"] for body in received] == EVENTS  # one of each, none from B's subscription twice
    assert {body["data"]["id"] for body in received} == {record["id"]}
    assert received[1]["data"]["name"] == "B-XY 2"


def test_subscribing_to_an_objects_events_needs_the_objects_read_scope(tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session, pytest.raises(PermissionDenied):
        services.create_subscription(session, receiver.url, EVENTS[:1], within=frozenset({"contacts:read"}))
    with tenant_session(tenant_a.ref) as session:
        allowed = services.create_subscription(
            session, receiver.url, EVENTS[:1], within=frozenset({"objects:read"})
        )
        assert allowed.events == EVENTS[:1]
