"""Tenant isolation of the service module: tenant B's token and user get 404 for every ticket, queue and
article route on tenant A's ids, B's lists, views, searches and dashboard never show A's records, and
A's records are unchanged afterwards. (tests/tenants/test_route_isolation.py walks every id route too.)"""

from __future__ import annotations

import uuid

import pytest

from saas.db import tenant_session
from saas.modules.service import kb, queues
from saas.modules.service.models import Ticket
from saas.modules.service.tickets import add_staff_message, tickets
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.service.conftest import add_contact


@pytest.fixture
def a_records(tenant_a):
    contact = add_contact(tenant_a, first_name="Secret", email="secret@a.example")
    with tenant_session(tenant_a.ref) as session:
        ticket = tickets.create(
            session, {"subject": "Secret ticket", "requester_contact_id": uuid.UUID(contact)}
        )
        add_staff_message(session, ticket.id, "Secret note", kind="note")
        queue = queues.create_queue(session, {"name": "Secret queue"})
        article = kb.create_article(
            session, {"title": "Secret article", "body": "Secret", "status": "published"}
        )
        return {"ticket": ticket.id, "queue": queue.id, "article": article.id, "contact": contact}


def snapshot(fixture, ids) -> tuple:
    with tenant_session(fixture.ref) as session:
        ticket = session.get(Ticket, ids["ticket"])
        return (
            ticket.subject, ticket.status, ticket.priority, ticket.assignee_user_id, len(ticket.messages),
            queues.get_queue(session, ids["queue"]).name, kb.get_article(session, ids["article"]).title,
        )  # fmt: skip


def test_tenant_b_token_gets_404_for_every_service_route_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_records
):
    before = snapshot(tenant_a, a_records)
    headers = bearer(make_token(tenant_b))
    t, q, a = a_records["ticket"], a_records["queue"], a_records["article"]
    for method, url, body in [
        ("get", f"/api/v1/tickets/{t}", None),
        ("patch", f"/api/v1/tickets/{t}", {"subject": "Hijacked"}),
        ("get", f"/api/v1/tickets/{t}/messages", None),
        ("post", f"/api/v1/tickets/{t}/messages", {"body": "Hijacked"}),
        ("get", f"/api/v1/tickets/{t}/history", None),
        ("get", f"/api/v1/queues/{q}", None),
        ("patch", f"/api/v1/queues/{q}", {"name": "Hijacked"}),
        ("delete", f"/api/v1/queues/{q}", None),
        ("get", f"/api/v1/kb/articles/{a}", None),
        ("patch", f"/api/v1/kb/articles/{a}", {"title": "Hijacked"}),
        ("delete", f"/api/v1/kb/articles/{a}", None),
    ]:
        response = (
            getattr(client, method)(url, json=body, headers=headers)
            if body
            else getattr(client, method)(url, headers=headers)
        )
        assert response.status_code == 404 and response.mimetype == "application/problem+json", (method, url)
    assert snapshot(tenant_a, a_records) == before


def test_tenant_b_cannot_point_its_tickets_at_tenant_a_records(client, tenant_a, tenant_b, a_records):
    headers = bearer(make_token(tenant_b))
    for body, field in (
        ({"subject": "x", "requester_contact_id": a_records["contact"]}, "requester_contact_id"),
        ({"subject": "x", "queue_id": str(a_records["queue"])}, "queue_id"),
    ):
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"]


def test_tenant_b_lists_views_search_and_dashboard_never_show_tenant_a(client, tenant_a, tenant_b, a_records):
    headers = bearer(make_token(tenant_b))
    urls = ["/api/v1/tickets", "/api/v1/tickets?q=secret", "/api/v1/tickets?view=unassigned",
            "/api/v1/tickets?view=breaching", f"/api/v1/tickets?requester_contact_id={a_records['contact']}",
            "/api/v1/kb/articles", "/api/v1/kb/articles?q=secret"]  # fmt: skip
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and response.get_json()["data"] == [], url
    names = [q["name"] for q in client.get("/api/v1/queues", headers=headers).get_json()["data"]]
    assert names == ["Support"]
    login(client, tenant_b.email, tenant_b.password)
    paths = ["/tickets", "/tickets?q=secret", "/tickets?view=unassigned", "/service", "/kb", "/kb?q=secret",
             "/settings/service"]  # fmt: skip
    for path in paths:
        response = client.get(f"/t/{tenant_b.slug}{path}")
        assert response.status_code == 200 and "Secret" not in response.text, path


def test_tenant_b_user_gets_404_for_every_service_page_on_tenant_a_ids(client, tenant_a, tenant_b, a_records):
    before = snapshot(tenant_a, a_records)
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/tickets").text)
    t, q, a = a_records["ticket"], a_records["queue"], a_records["article"]
    reads = [f"/tickets/{t}", f"/kb/{a}"]
    writes = [
        (f"/tickets/{t}/edit", {"subject": "Hijacked", "status": "open", "priority": "low"}),
        (f"/tickets/{t}/messages", {"body": "Hijacked"}),
        (f"/kb/{a}", {"title": "Hijacked", "body": "x"}),
        (f"/kb/{a}/delete", {}),
        (f"/settings/service/queues/{q}", {"name": "Hijacked"}),
        (f"/settings/service/queues/{q}/delete", {}),
    ]
    for slug in (tenant_b.slug, tenant_a.slug):
        for path in reads:
            response = client.get(f"/t/{slug}{path}")
            assert response.status_code == 404 and "Secret" not in response.text, (slug, path)
        for path, data in writes:
            assert client.post(f"/t/{slug}{path}", data={"csrf_token": token, **data}).status_code == 404, (
                slug,
                path,
            )
    assert snapshot(tenant_a, a_records) == before
