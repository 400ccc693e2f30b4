"""The command palette's answers (``/t/<slug>/palette``): the enabled modules' actions and pages and the
global search's records, of the signed-in user's own workspace only."""

from __future__ import annotations

import uuid

from saas.auth.services import add_member
from saas.db import db
from tests.conftest import PASSWORD, login
from tests.web.conftest import add_records, switch


def palette(client, slug: str, query: str = "") -> list[dict]:
    response = client.get(f"/t/{slug}/palette", query_string={"q": query})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json["items"]


def labels(items: list[dict], kind: str) -> list[str]:
    return [item["label"] for item in items if item["kind"] == kind]


def test_an_empty_query_offers_the_enabled_modules_actions_and_pages(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    items = palette(client, tenant_a.slug)
    assert {"New contact", "New deal", "New ticket"} <= set(labels(items, "action"))
    assert {"Dashboard", "Contacts"} <= set(labels(items, "page"))
    new_deal = next(item for item in items if item["label"] == "New deal")
    assert new_deal["url"] == f"/t/{tenant_a.slug}/deals/new"
    switch(tenant_a, "sfa", False)
    off = palette(client, tenant_a.slug)
    assert "New deal" not in labels(off, "action") and "Deals" not in labels(off, "page")
    assert "New contact" in labels(off, "action")


def test_typing_ranks_what_starts_with_it_first_and_finds_records(client, tenant_a):
    ids = add_records(tenant_a, "Zephyrine")
    login(client, tenant_a.email, tenant_a.password)
    items = palette(client, tenant_a.slug, "deal")
    assert labels(items, "action") == ["New deal"]
    assert labels(items, "page")[0] == "Deals"
    found = palette(client, tenant_a.slug, "zephyr")
    contact = next(item for item in found if item["kind"] == "record" and item["label"] == "Ada Zephyrine")
    assert contact["url"] == f"/t/{tenant_a.slug}/contacts/{ids['contact']}"
    assert contact["detail"].startswith("Contact")
    assert {"Zephyrine Industries", "Zephyrine renewal", "Lee Zephyrine"} <= set(labels(found, "record"))


def test_the_settings_hub_is_offered_to_owners_and_admins_only(client, tenant_a):
    email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="t")
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)
    assert "Settings" in labels(palette(client, tenant_a.slug, "sett"), "page")
    with client.application.app_context():  # a fresh `g` for the second user
        member = client.application.test_client()
        login(member, email, PASSWORD)
        assert "Settings" not in labels(palette(member, tenant_a.slug, "sett"), "page")


def test_another_workspaces_records_are_never_offered(client, tenant_a, tenant_b):
    add_records(tenant_a, "Privatissimo")
    login(client, tenant_b.email, tenant_b.password)
    assert labels(palette(client, tenant_b.slug, "Privatissimo"), "record") == []
    # Nor can tenant B's user ask tenant A's palette.
    refused = client.get(f"/t/{tenant_a.slug}/palette", query_string={"q": "Privatissimo"})
    assert refused.status_code == 404 and "Privatissimo" not in refused.text


def test_a_query_too_long_is_refused_as_a_problem_document(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    refused = client.get(f"/t/{tenant_a.slug}/palette", query_string={"q": "x" * 101})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["errors"]["q"] == ["At most 100 characters."]
    # One character is no search yet, but still matches pages and actions.
    assert labels(palette(client, tenant_a.slug, "n"), "record") == []
