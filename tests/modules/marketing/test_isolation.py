"""Tenant isolation of every marketing route (API and pages), and the module switched off and on."""

from __future__ import annotations

import uuid

import pytest

from saas.db import db, tenant_session
from saas.modules.marketing import forms
from saas.modules.marketing.models import Campaign, MarketingForm, Segment
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import add_people, make_campaign, sender_settings


@pytest.fixture
def a_records(tenant_a):
    """A's static list, rule segment, campaign and form."""
    add_people(tenant_a, {"granted": 2})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a, name="Secret launch")
    with tenant_session(tenant_a.ref) as session:
        static = Segment(name="Secret list", kind="static", rules=[])
        form = forms.create_form(session, {"name": "Secret form", "purposes": ["email_marketing"]})
        session.add(static)
        session.flush()
        campaign = session.get(Campaign, uuid.UUID(campaign_id))
        return {"campaign": campaign.id, "segment": campaign.segment_id, "static": static.id, "form": form.id}


def _a_unchanged(tenant_a, a_records) -> bool:
    with tenant_session(tenant_a.ref) as session:
        campaign = session.get(Campaign, a_records["campaign"])
        segment = session.get(Segment, a_records["segment"])
        form = session.get(MarketingForm, a_records["form"])
        return (campaign.status, campaign.name, segment.name, form.enabled) == (
            "draft", "Secret launch", "Secret launch audience", True
        )  # fmt: skip


def test_tenant_b_token_gets_404_for_every_marketing_route_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_records
):
    headers = bearer(make_token(tenant_b))
    base = "/api/v1/marketing"
    campaign, segment = f"{base}/campaigns/{a_records['campaign']}", f"{base}/segments/{a_records['segment']}"
    form, static = f"{base}/forms/{a_records['form']}", f"{base}/segments/{a_records['static']}"
    requests = [
        ("get", segment, {}),
        ("patch", segment, {"json": {"name": "Mine"}}),
        ("delete", segment, {}),
        ("get", f"{segment}/count", {}),
        ("post", f"{static}/members", {"json": {"contact_ids": []}}),
        ("get", campaign, {}),
        ("patch", campaign, {"json": {"name": "Mine"}}),
        ("delete", campaign, {}),
        ("post", f"{campaign}/schedule", {"json": {}}),
        ("post", f"{campaign}/cancel", {}),
        ("post", f"{campaign}/test", {"json": {"to": "b@beta.example"}}),
        ("get", f"{campaign}/report", {}),
        ("get", form, {}),
        ("patch", form, {"json": {"enabled": False}}),
        ("delete", form, {}),
    ]
    for method, url, extra in requests:
        response = getattr(client, method)(url, headers=headers, **extra)
        assert response.status_code == 404, (method, url)
        assert response.mimetype == "application/problem+json"
    for url in (f"{base}/campaigns", f"{base}/segments", f"{base}/forms"):
        listed = client.get(url, headers=headers)
        assert listed.status_code == 200 and "Secret" not in listed.text, url
    # B's settings are B's: A's sender is not visible.
    assert client.get(f"{base}/settings", headers=headers).status_code == 404
    assert _a_unchanged(tenant_a, a_records)


def test_tenant_b_member_gets_404_for_every_marketing_page_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_records
):
    login(client, tenant_b.email, tenant_b.password)
    b = f"/t/{tenant_b.slug}/marketing"
    campaign, segment = f"{b}/campaigns/{a_records['campaign']}", f"{b}/segments/{a_records['segment']}"
    static, form = f"{b}/segments/{a_records['static']}", f"{b}/forms/{a_records['form']}"
    for url in (campaign, f"{campaign}/report", segment, static, form):
        assert client.get(url).status_code == 404, url
    token = csrf_token_from(client.get(f"{b}/").text)
    posts = [
        (campaign, {"name": "Mine", "subject": "x"}),
        (f"{campaign}/schedule", {}),
        (f"{campaign}/cancel", {}),
        (f"{campaign}/test", {"to": "b@beta.example"}),
        (f"{campaign}/delete", {}),
        (segment, {"name": "Mine"}),
        (f"{static}/members", {"emails": "p-granted-0@example.org"}),
        (f"{segment}/delete", {}),
        (form, {"name": "Mine"}),
    ]
    for url, data in posts:
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 404, url
    for url in (f"{b}/", f"{b}/segments", f"{b}/forms"):
        page = client.get(url)
        assert page.status_code == 200 and "Secret" not in page.text, url
    # A's own URLs are simply not there for B's member.
    assert client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{a_records['campaign']}").status_code == 404
    assert _a_unchanged(tenant_a, a_records)


def test_a_segment_counts_only_its_own_tenants_contacts(client, tenant_a, tenant_b):
    add_people(tenant_a, {"granted": 3})
    add_people(tenant_b, {"granted": 1})
    for fixture, expected in ((tenant_a, 3), (tenant_b, 1)):
        headers = bearer(make_token(fixture))
        created = client.post(
            "/api/v1/marketing/segments",
            json={"name": "All p", "rules": [{"field": "last_name", "op": "equals", "value": "p"}]},
            headers=headers,
        )
        counted = client.get(f"/api/v1/marketing/segments/{created.json['id']}/count", headers=headers)
        assert counted.json["count"] == expected


def _switch(fixture, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, "marketing", enabled, actor="test")
    db.session.commit()


def test_switched_off_marketing_answers_404_everywhere_and_keeps_its_data(client, tenant_a, a_records):
    headers = bearer(make_token(tenant_a))
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    assert f'href="{base}/marketing/"' in client.get(f"{base}/").text
    _switch(tenant_a, False)
    pages = ("/marketing/", "/marketing/segments", "/marketing/forms", "/marketing/settings",
             f"/marketing/campaigns/{a_records['campaign']}")  # fmt: skip
    for path in pages:
        page = client.get(f"{base}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
    for url in ("/api/v1/marketing/campaigns", "/api/v1/marketing/segments", "/api/v1/marketing/forms",
                f"/api/v1/marketing/campaigns/{a_records['campaign']}/report"):  # fmt: skip
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.get_json()["title"] == "Module switched off", url
    with client.application.test_request_context():
        form_path = f"/m/{tenant_a.slug}/f/{forms.form_token(tenant_a.tenant.id, a_records['form'])}"
    assert client.get(form_path).status_code == 404
    assert ">Campaigns</a>" not in client.get(f"{base}/").text

    _switch(tenant_a, True)
    assert client.get(form_path).status_code == 200
    listed = client.get("/api/v1/marketing/campaigns", headers=headers).json["data"]
    assert [c["name"] for c in listed] == ["Secret launch"]
