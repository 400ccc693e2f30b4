"""Campaigns through the pages and the API (thin over the services), the privacy hooks of the module, and
the ``campaign.sent`` webhook."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.marketing.models import CampaignEvent, CampaignRecipient
from saas.modules.privacy.subject import collect_personal_data, data_subject, erase_subject
from saas.webhooks import services as webhook_services
from saas.webhooks.models import WebhookDelivery
from tests.api.conftest import receiver  # noqa: F401  (a real HTTP receiver on loopback)
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import (
    HTML,
    add_people,
    make_campaign,
    run_jobs,
    schedule_now,
    sender_settings,
)


def test_staff_set_the_sender_write_a_campaign_and_send_it_from_the_pages(client, tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 2, "withdrawn": 1})
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/marketing"
    token = csrf_token_from(client.get(f"{base}/settings").text)
    sender = {"csrf_token": token, "from_name": "Acme", "from_email": "x", "time_zone": "Mars/Olympus"}
    bad = client.post(f"{base}/settings", data=sender)
    assert bad.status_code == 422
    assert "Enter a valid email address." in bad.text and "Use an IANA name" in bad.text
    sender |= {"from_email": "news@acme.example", "time_zone": "Europe/Berlin"}
    saved = client.post(f"{base}/settings", data=sender)
    assert saved.status_code == 302

    segment = client.post(
        f"{base}/segments/new",
        data={"csrf_token": token, "name": "People", "kind": "rules", "rule_0_field": "last_name",
              "rule_0_op": "equals", "rule_0_value": "p"},
    )  # fmt: skip
    segment_id = segment.headers["Location"].rsplit("/", 1)[1]
    created = client.post(
        f"{base}/campaigns/new",
        data={"csrf_token": token, "name": "Hello", "subject": "Hi {{ first_name }}",
              "segment_id": segment_id, "html_body": HTML + "<script>x()</script>", "text_body": "Hi"},
    )  # fmt: skip
    assert created.status_code == 302
    campaign_url = created.headers["Location"]
    page = client.get(campaign_url)
    assert "draft" in page.text and "<script>x()" not in page.text and "Europe/Berlin" in page.text

    test = client.post(f"{campaign_url}/test", data={"csrf_token": token, "to": "qa@acme.example"})
    assert test.status_code == 302
    client.post(f"{campaign_url}/schedule", data={"csrf_token": token, "when": "now"})
    run_jobs()
    expected = ["p-granted-0@example.org", "p-granted-1@example.org", "qa@acme.example"]
    assert sorted(m["To"] for m in mail_sink.messages) == expected
    page = client.get(campaign_url)
    assert "sent" in page.text and "1 without consent" in page.text
    cancel = client.post(f"{campaign_url}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 409 and "only a draft or scheduled campaign" in cancel.text


def test_the_api_refuses_bad_campaigns_with_problems(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    draft = client.post(
        "/api/v1/marketing/campaigns", json={"name": "No segment", "subject": "Hi"}, headers=headers
    )
    assert draft.status_code == 201
    refused = client.post(
        f"/api/v1/marketing/campaigns/{draft.json['id']}/schedule", json={}, headers=headers
    )
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert {"segment_id", "html_body", "from_email", "mail"} <= set(
        refused.json["errors"]
    )  # no SMTP_URL here
    typo = client.post(
        "/api/v1/marketing/campaigns", json={"name": "T", "subject": "Hi {{ nmae }}"}, headers=headers
    )
    assert typo.status_code == 422 and "subject" in typo.json["errors"]
    member_settings = client.put(
        "/api/v1/marketing/settings",
        json={"from_name": "A", "from_email": "a@acme.example", "time_zone": "Nowhere"},
        headers=headers,
    )
    assert member_settings.status_code == 422 and "time_zone" in member_settings.json["errors"]


def test_personal_data_holds_deliveries_tracking_and_erasure_removes_them(client, tenant_a, mail_sink):
    people = add_people(tenant_a, {"granted": 2})
    sender_settings(tenant_a)
    schedule_now(tenant_a, make_campaign(tenant_a))
    run_jobs()
    email = people["granted"][0]
    pixel = re.search(
        r'src="http://localhost(/m/[^"]+\.gif)"', mail_sink.to(email)[0].get_body(("html",)).get_content()
    )
    client.get(pixel.group(1))
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == email))
        held = collect_personal_data(session, contact_id)["marketing"]
        [delivery] = held["emails"]
        assert (delivery["email"], delivery["status"], delivery["campaign"]) == (email, "sent", "Autumn")
        assert [t["kind"] for t in delivery["tracking"]] == ["open"]
        json.dumps(held, default=str)  # JSON-ready for the privacy center's download

        report = erase_subject(session, data_subject(session, contact_id))
        assert report["campaign_recipients"] == 1 and report["campaign_events"] == 1
        left = session.scalars(select(CampaignRecipient.email)).all()
        assert left == [people["granted"][1]] and session.scalar(select(CampaignEvent.id)) is None


def test_a_finished_campaign_announces_campaign_sent_to_subscribers(app, tenant_a, mail_sink, receiver):  # noqa: F811
    add_people(tenant_a, {"granted": 2, "pending": 1})
    sender_settings(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        webhook_services.create_subscription(session, receiver.url, ["campaign.sent"])
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id)
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
    assert delivery.event == "campaign.sent"
    [request] = receiver.accepted()
    body = json.loads(request.body)
    payload = body.get("data", body)
    assert payload["id"] == campaign_id and payload["sent"] == 2 and payload["audience"]["no_consent"] == 1


def test_scheduling_cancelling_and_sender_changes_are_audited_without_personal_data(
    client, tenant_a, mail_sink
):
    headers = bearer(make_token(tenant_a))
    put = client.put(
        "/api/v1/marketing/settings", json={"from_name": "A", "from_email": "a@acme.example"}, headers=headers
    )
    assert put.status_code == 200
    campaign_id = make_campaign(tenant_a)
    later = {"send_at": "2031-05-01T09:00:00"}
    assert (
        client.post(
            f"/api/v1/marketing/campaigns/{campaign_id}/schedule", json=later, headers=headers
        ).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/marketing/campaigns/{campaign_id}/cancel", headers=headers).status_code == 200
    )
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action.like("marketing.%")
        )
    ).all()
    assert [e.action for e in sorted(entries, key=lambda e: e.id)] == [
        "marketing.settings.changed", "marketing.campaign.scheduled", "marketing.campaign.cancelled"
    ]  # fmt: skip
    assert all("acme.example" not in str(e.details) for e in entries)
