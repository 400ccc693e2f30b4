"""Every event the subscription page offers is really sent: for each one, a real receiver on loopback is
subscribed to it alone, the change is made the way users make it (API, or the campaign send job), and
the signed delivery must arrive with the documented envelope and payload. An event offered without a
scenario here, or offered but not documented in docs/api.md, fails the suite."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.webhooks import services
from saas.webhooks.events import KNOWN_EVENTS
from saas.webhooks.signing import verify_signature
from tests.conftest import TenantFixture, bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import add_people, make_campaign, schedule_now, sender_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@dataclass
class Scene:
    client: Any
    tenant: TenantFixture
    headers: dict[str, str]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.client.open(f"/api/v1/{path}", method=method, json=body, headers=self.headers)
        assert response.status_code < 300, (method, path, response.get_json())
        return response.get_json() if response.status_code != 204 else {}


# Each scenario makes the change that sends its event and returns what the delivery's ``data`` must hold.
Scenario = Callable[[Scene], dict[str, Any]]


def _record_events(noun: str, plural: str, create: dict, change: dict) -> dict[str, Scenario]:
    def created(scene: Scene) -> dict:
        record = scene.call("POST", plural, create)
        return {"id": record["id"], **create}

    def updated(scene: Scene) -> dict:
        record = scene.call("POST", plural, create)
        scene.call("PATCH", f"{plural}/{record['id']}", change)
        return {"id": record["id"], **create, **change}

    def deleted(scene: Scene) -> dict:
        record = scene.call("POST", plural, create)
        scene.call("DELETE", f"{plural}/{record['id']}")
        return {"id": record["id"], **create}

    return {f"{noun}.created": created, f"{noun}.updated": updated, f"{noun}.deleted": deleted}


def _lead_converted(scene: Scene) -> dict:
    lead = scene.call(
        "POST", "leads", {"last_name": "Lee", "email": "lee@convert.example", "status": "qualified"}
    )
    result = scene.call("POST", f"leads/{lead['id']}/convert", {})
    return {"lead_id": lead["id"], "contact_id": result["contact_id"], "account_id": result["account_id"],
            "deal_id": None}  # fmt: skip


def _deal_stage_changed(scene: Scene) -> dict:
    deal = scene.call("POST", "deals", {"name": "Big", "amount": "10.00"})
    pipeline = scene.call("GET", f"pipelines/{deal['pipeline_id']}")
    target = next(s for s in pipeline["stages"] if s["id"] != deal["stage_id"] and s["kind"] == "open")
    scene.call("POST", f"deals/{deal['id']}/move", {"stage_id": target["id"]})
    return {"id": deal["id"], "stage_id": target["id"], "from_stage_id": deal["stage_id"], "name": "Big"}


def _ticket_created(scene: Scene) -> dict:
    ticket = scene.call("POST", "tickets", {"subject": "Hooked", "priority": "high", "tags": ["vip"]})
    return {"id": ticket["id"], "subject": "Hooked", "status": "new", "priority": "high", "channel": "api",
            "tags": ["vip"], "custom_fields": {}}  # fmt: skip


def _ticket_updated(scene: Scene) -> dict:
    ticket = scene.call("POST", "tickets", {"subject": "Hooked"})
    scene.call("PATCH", f"tickets/{ticket['id']}", {"status": "pending_customer", "priority": "urgent"})
    return {"id": ticket["id"], "subject": "Hooked", "status": "pending_customer", "priority": "urgent",
            "changed": ["priority", "status"], "custom_fields": {}}  # fmt: skip


def _campaign_sent(scene: Scene) -> dict:
    add_people(scene.tenant, {"granted": 2, "pending": 1})
    sender_settings(scene.tenant)
    campaign_id = make_campaign(scene.tenant)
    schedule_now(scene.tenant, campaign_id)  # the send job (run with the deliveries) finishes it
    return {"id": campaign_id, "name": "Autumn", "sent": 2, "failed": 0}


def _quote_accepted(scene: Scene) -> dict:
    deal = scene.call("POST", "deals", {"name": "Quoted"})
    lines = [{"description": "Setup", "unit_price": "120"}]
    quote = scene.call("POST", f"deals/{deal['id']}/quotes", {"lines": lines})
    link = urlsplit(scene.call("GET", f"quotes/{quote['id']}/link")["url"]).path
    page = scene.client.get(link)
    accepted = scene.client.post(
        f"{link}/accept", data={"csrf_token": csrf_token_from(page.text), "name": "Ann"}
    )
    assert accepted.status_code == 303
    return {"id": quote["id"], "deal_id": deal["id"], "status": "accepted", "total": "120.00",
            "responder_name": "Ann"}  # fmt: skip


SCENARIOS: dict[str, Scenario] = {
    **_record_events(
        "contact", "contacts", {"first_name": "Ann", "last_name": "Hook"}, {"first_name": "Anna"}
    ),
    **_record_events("account", "accounts", {"name": "Hook Ltd"}, {"name": "Hook plc"}),
    **_record_events("lead", "leads", {"last_name": "Lee", "company": "Lee Co"}, {"company": "Lee plc"}),
    **_record_events("deal", "deals", {"name": "Big"}, {"name": "Bigger"}),
    "lead.converted": _lead_converted,
    "deal.stage_changed": _deal_stage_changed,
    "ticket.created": _ticket_created,
    "ticket.updated": _ticket_updated,
    "campaign.sent": _campaign_sent,
    "quote.accepted": _quote_accepted,
}


@pytest.mark.parametrize("event", KNOWN_EVENTS)
def test_each_offered_event_reaches_a_subscribed_receiver_as_documented(
    client, tenant_a, receiver, mail_sink, event
):
    assert event in SCENARIOS, f"{event} is offered to subscribers but no test sends it"
    with tenant_session(tenant_a.ref) as session:
        secret = services.create_subscription(session, receiver.url, [event]).secret
    expected = SCENARIOS[event](Scene(client, tenant_a, bearer(make_token(tenant_a))))
    make_worker().work(burst=True)

    [request] = receiver.accepted()  # exactly one: the change announced itself once, and nothing else did
    envelope = json.loads(request.body)
    assert set(envelope) == {"id", "type", "created_at", "data"}
    assert envelope["type"] == request.headers["Webhook-Event"] == event
    assert envelope["id"] == request.headers["Webhook-Id"]
    assert request.headers["Content-Type"] == "application/json"
    assert verify_signature(secret, request.headers["Webhook-Signature"], request.body)
    assert {key: envelope["data"].get(key) for key in expected} == expected


def test_ticket_updated_names_what_a_macro_and_a_customer_reply_changed(client, tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(session, receiver.url, ["ticket.updated"])
    scene = Scene(client, tenant_a, bearer(make_token(tenant_a)))
    ticket = scene.call("POST", "tickets", {"subject": "Macro'd", "tags": ["a"]})
    macro = scene.call("POST", "macros", {"name": "Escalate", "priority": "urgent", "tags": ["escalated"]})
    scene.call("POST", f"tickets/{ticket['id']}/apply-macro", {"macro_id": macro["id"]})
    scene.call("PATCH", f"tickets/{ticket['id']}", {"subject": "Macro'd"})  # no change: no event
    make_worker().work(burst=True)
    [request] = receiver.accepted()
    data = json.loads(request.body)["data"]
    assert (data["id"], data["priority"], data["tags"]) == (ticket["id"], "urgent", ["a", "escalated"])
    assert data["changed"] == ["priority", "tags"]


def test_a_refused_ticket_change_announces_nothing(client, tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(session, receiver.url, ["ticket.updated"])
    scene = Scene(client, tenant_a, bearer(make_token(tenant_a)))
    ticket = scene.call("POST", "tickets", {"subject": "Stays"})
    refused = client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"queue_id": str(uuid.uuid4())}, headers=scene.headers
    )
    assert refused.status_code == 422
    make_worker().work(burst=True)
    assert receiver.received == []


def test_the_subscription_page_offers_exactly_the_tested_events(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/api")
    assert page.status_code == 200
    offered = set(re.findall(r'name="events" value="([^"]+)"', page.text)) - {"*"}
    assert offered == set(KNOWN_EVENTS)
    assert offered - set(SCENARIOS) == set(), "offered events without a delivery test"


def test_docs_list_exactly_the_offered_events():
    section = DOCS.read_text().split("## Webhooks", 1)[1].split("### What a delivery looks like", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {
        name for line in table for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", line.split(" | ")[0])
    }
    assert documented == set(KNOWN_EVENTS)
