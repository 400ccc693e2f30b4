"""Core and SFA changes made through the API announce themselves to subscribed webhook URLs."""

from __future__ import annotations

import json

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.webhooks import services
from tests.conftest import bearer, make_token


def events_received(receiver) -> list[tuple[str, dict]]:
    return [(json.loads(r.body)["type"], json.loads(r.body)["data"]) for r in receiver.received]


def test_contact_lifecycle_is_announced(client, tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(
            session, receiver.url, ["contact.created", "contact.updated", "contact.deleted"]
        )
    headers = bearer(make_token(tenant_a))
    contact = client.post("/api/v1/contacts", json={"last_name": "Hook"}, headers=headers).json
    client.patch(f"/api/v1/contacts/{contact['id']}", json={"first_name": "Ann"}, headers=headers)
    client.delete(f"/api/v1/contacts/{contact['id']}", headers=headers)
    client.post("/api/v1/contacts", json={}, headers=headers)  # refused: announces nothing
    make_worker().work(burst=True)

    received = events_received(receiver)
    assert [name for name, _ in received] == ["contact.created", "contact.updated", "contact.deleted"]
    assert {data["id"] for _, data in received} == {contact["id"]}
    assert received[1][1]["first_name"] == "Ann"


def test_deal_stage_change_and_lead_conversion_are_announced(client, tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(
            session, receiver.url, ["deal.created", "deal.stage_changed", "lead.converted"]
        )
    headers = bearer(make_token(tenant_a))
    deal = client.post("/api/v1/deals", json={"name": "Big", "amount": "10.00"}, headers=headers).json
    pipeline = client.get(f"/api/v1/pipelines/{deal['pipeline_id']}", headers=headers).json
    next_stage = next(s for s in pipeline["stages"] if s["id"] != deal["stage_id"] and s["kind"] == "open")
    moved = client.post(
        f"/api/v1/deals/{deal['id']}/move", json={"stage_id": next_stage["id"]}, headers=headers
    )
    assert moved.status_code == 200, moved.json
    lead = client.post(
        "/api/v1/leads", json={"last_name": "Lee", "status": "qualified"}, headers=headers
    ).json
    converted = client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=headers)
    assert converted.status_code == 200, converted.json
    make_worker().work(burst=True)

    received = dict(events_received(receiver))
    assert received["deal.created"]["id"] == deal["id"]
    assert received["deal.stage_changed"]["stage_id"] == next_stage["id"]
    assert received["deal.stage_changed"]["from_stage_id"] == deal["stage_id"]
    assert received["lead.converted"]["lead_id"] == lead["id"]
    assert received["lead.converted"]["contact_id"]


def test_a_merge_announces_the_merged_away_record_deleted_and_the_survivor_updated(
    client, tenant_a, receiver
):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(session, receiver.url, ["contact.updated", "contact.deleted"])
    headers = bearer(make_token(tenant_a))
    keep = client.post(
        "/api/v1/contacts", json={"last_name": "Lee", "email": "ann@x.example"}, headers=headers
    ).json
    gone = client.post(
        "/api/v1/contacts", json={"first_name": "Ann", "last_name": "Lee"}, headers=headers
    ).json
    merged = client.post(
        f"/api/v1/contacts/{keep['id']}/merge", json={"merge_id": gone["id"]}, headers=headers
    )
    assert merged.status_code == 200, merged.json
    make_worker().work(burst=True)
    received = events_received(receiver)
    assert [(name, data["id"]) for name, data in received] == [
        ("contact.deleted", gone["id"]),
        ("contact.updated", keep["id"]),
    ]
