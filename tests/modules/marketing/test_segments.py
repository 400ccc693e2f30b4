"""Segments: rules over contacts, accounts, activity, deals and consent, re-evaluated at every use; a
live count and preview; static lists; bad rules refused with a message per rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core import services
from saas.modules.core.activities import activities
from saas.modules.marketing import segments
from saas.modules.marketing.models import Segment
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Stage
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import add_people, now


def _names(session, rules, match="all") -> set[str]:
    segment = Segment(kind="rules", match=match, rules=segments.clean_rules(rules))
    count, preview = segments.count_and_preview(session, segment)
    assert count == len(preview)
    return {c.first_name for c in preview}


def test_rules_select_by_fields_account_activity_deal_and_consent(tenant_a):
    add_people(tenant_a, {"granted": 1, "withdrawn": 1, "pending": 1, "none": 1})
    with tenant_session(tenant_a.ref) as session:
        initech = services.accounts.create(session, {"name": "Initech", "industry": "Software"})
        ada = services.contacts.create(
            session,
            {"first_name": "Ada", "last_name": "L", "email": "ada@initech.example", "account_id": initech.id},
        )
        bob = services.contacts.create(session, {"first_name": "Bob", "last_name": "B", "title": "CTO"})
        activities.create(
            session, {"kind": "call", "subject": "Hi", "contact_id": bob.id, "occurred_at": now()}
        )
        carl = services.contacts.create(session, {"first_name": "Carl", "last_name": "C"})
        old = now() - timedelta(days=100)
        activities.create(
            session, {"kind": "call", "subject": "Old", "contact_id": carl.id, "occurred_at": old}
        )
        won_stage = session.scalar(select(Stage.id).where(Stage.kind == "won"))
        deals.create(
            session, {"name": "Won", "amount": Decimal(1), "contact_ids": [ada.id], "stage_id": won_stage}
        )
        deals.create(session, {"name": "Open", "amount": Decimal(1), "contact_ids": [bob.id]})

        assert _names(session, [{"field": "account_industry", "op": "equals", "value": "software"}]) == {
            "Ada"
        }
        assert _names(session, [{"field": "email", "op": "contains", "value": "@initech."}]) == {"Ada"}
        assert _names(session, [{"field": "title", "op": "is_set"}]) == {"Bob"}
        # Deals put entries on their contacts' timelines too: Ada and Bob were active, Carl long ago.
        assert _names(session, [{"field": "activity", "op": "within_days", "value": 30}]) == {"Ada", "Bob"}
        inactive = _names(session, [{"field": "activity", "op": "not_within_days", "value": 30}])
        assert "Carl" in inactive and not {"Ada", "Bob"} & inactive
        assert _names(session, [{"field": "lifecycle_stage", "op": "equals", "value": "customer"}]) == {"Ada"}
        assert _names(session, [{"field": "lifecycle_stage", "op": "equals", "value": "opportunity"}]) == {
            "Bob"
        }
        assert _names(session, [{"field": "deal_stage", "op": "equals", "value": "prospecting"}]) == {"Bob"}
        assert _names(
            session, [{"field": "consent_email_marketing", "op": "equals", "value": "granted"}]
        ) == {"Granted0"}
        assert _names(
            session, [{"field": "consent_email_marketing", "op": "equals", "value": "pending"}]
        ) == {"Pending0"}
        none = _names(session, [{"field": "consent_email_marketing", "op": "equals", "value": "none"}])
        assert none == {"None0", "Ada", "Bob", "Carl"}
        either = [
            {"field": "first_name", "op": "equals", "value": "ada"},
            {"field": "title", "op": "equals", "value": "cto"},
        ]
        assert _names(session, either, match="any") == {"Ada", "Bob"}
        assert _names(session, either, match="all") == set()


def test_a_saved_segment_is_re_evaluated_each_time(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/marketing/segments",
        json={
            "name": "Granted",
            "rules": [{"field": "consent_email_marketing", "op": "equals", "value": "granted"}],
        },
        headers=headers,
    )
    assert created.status_code == 201
    url = f"/api/v1/marketing/segments/{created.json['id']}/count"
    assert client.get(url, headers=headers).json["count"] == 0
    add_people(tenant_a, {"granted": 2, "withdrawn": 1})
    counted = client.get(url, headers=headers).json
    assert counted["count"] == 2 and {p["display_name"] for p in counted["preview"]} == {
        "Granted0 p",
        "Granted1 p",
    }


def test_bad_rules_are_refused_with_a_message_for_each(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    response = client.post(
        "/api/v1/marketing/segments",
        json={"name": "Bad", "rules": [
            {"field": "first_name", "op": "equals", "value": "ok"},
            {"field": "shoe_size", "op": "equals", "value": "9"},
            {"field": "activity", "op": "within_days", "value": "soon"},
            {"field": "lifecycle_stage", "op": "equals", "value": "vip"},
        ]},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"rules.1", "rules.2", "rules.3"}


def test_static_list_members_by_api_and_page(client, tenant_a):
    people = add_people(tenant_a, {"granted": 3})
    headers = bearer(make_token(tenant_a))
    static = client.post(
        "/api/v1/marketing/segments", json={"name": "VIP", "kind": "static"}, headers=headers
    ).json
    with tenant_session(tenant_a.ref) as session:
        ids = [str(c.id) for c in services.contacts.list(session, q="Granted0").data]
    assert client.post(
        f"/api/v1/marketing/segments/{static['id']}/members", json={"contact_ids": ids}, headers=headers
    ).json == {"changed": 1}
    unknown = client.post(
        f"/api/v1/marketing/segments/{static['id']}/members",
        json={"contact_ids": [static["id"]]},
        headers=headers,
    )
    assert unknown.status_code == 422

    login(client, tenant_a.email, tenant_a.password)
    page_url = f"/t/{tenant_a.slug}/marketing/segments/{static['id']}"
    token = csrf_token_from(client.get(page_url).text)
    client.post(
        f"{page_url}/members", data={"csrf_token": token, "emails": people["granted"][1], "action": "add"}
    )
    page = client.get(page_url)
    assert "2 contacts now" in page.text and "Granted1" in page.text


def test_segment_page_counts_unsaved_rules_live_and_saves_them(client, tenant_a):
    add_people(tenant_a, {"granted": 2, "pending": 1})
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/marketing/segments"
    rule = {"rule_0_field": "consent_email_marketing", "rule_0_op": "equals", "rule_0_value": "granted"}
    preview = client.get(f"{base}/preview", query_string={"name": "G", "match": "all", **rule})
    assert preview.status_code == 200 and "2 contacts now" in preview.text
    bad = client.get(f"{base}/preview", query_string={"rule_0_field": "activity", "rule_0_op": "within_days"})
    assert bad.status_code == 422 and "whole number of days" in bad.text
    token = csrf_token_from(client.get(f"{base}/new").text)
    saved = client.post(f"{base}/new", data={"csrf_token": token, "name": "Granted", "kind": "rules", **rule})
    assert saved.status_code == 302
    assert "2 contacts now" in client.get(saved.headers["Location"]).text
