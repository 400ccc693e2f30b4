"""Tenant isolation of deals, pipelines, stages, tasks, activities and the forecast: tenant B's token and
user get 404 for every route on tenant A's ids, lists and the forecast never show A's rows, and A's
records are untouched afterwards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core import services
from saas.modules.core.activities import activities
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Pipeline
from saas.modules.sfa.tasks import tasks
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def a_records(tenant_a):
    """One of everything in tenant A, with "Secret" in every name."""
    with tenant_session(tenant_a.ref) as session:
        pipeline = session.scalar(select(Pipeline))
        stage = pipeline.stages[2]
        account = services.accounts.create(session, {"name": "Secret Account"})
        deal = deals.create(session, {"name": "Secret Deal", "amount": Decimal("999.00"),
                                      "stage_id": stage.id, "account_id": account.id,
                                      "close_date": date(2031, 1, 15)})  # fmt: skip
        task = tasks.create(session, {"title": "Secret Task", "deal_id": deal.id})
        note = activities.create(
            session, {"kind": "note", "subject": "Secret Note", "account_id": account.id}
        )
        return {"pipeline": pipeline.id, "stage": stage.id, "other_stage": pipeline.stages[3].id,
                "deal": deal.id, "task": task.id, "activity": note.id, "account": account.id}  # fmt: skip


def snapshot(fixture, ids) -> tuple:
    with tenant_session(fixture.ref) as session:
        deal = deals.get(session, ids["deal"])
        pipeline = session.get(Pipeline, ids["pipeline"])
        return (
            deal.name, deal.amount, deal.stage_id, deal.status,
            pipeline.name, [(s.name, s.probability, s.kind) for s in pipeline.stages],
            tasks.get(session, ids["task"]).title, activities.get(session, ids["activity"]).subject,
        )  # fmt: skip


def api_attempts(ids: dict) -> list[tuple[str, str, dict | None]]:
    """Every API route that takes an id, with a body that would be valid in the caller's own tenant."""
    deal, stage, task, activity = ids["deal"], ids["stage"], ids["task"], ids["activity"]
    pipeline = ids["pipeline"]
    return [
        ("get", f"/api/v1/deals/{deal}", None),
        ("patch", f"/api/v1/deals/{deal}", {"name": "Hijacked"}),
        ("post", f"/api/v1/deals/{deal}/move", {"stage_id": str(ids["other_stage"])}),
        ("get", f"/api/v1/deals/{deal}/history", None),
        ("delete", f"/api/v1/deals/{deal}", None),
        ("get", f"/api/v1/pipelines/{pipeline}", None),
        ("patch", f"/api/v1/pipelines/{pipeline}", {"name": "Hijacked"}),
        ("post", f"/api/v1/pipelines/{pipeline}/stages", {"name": "Hijacked", "probability": 1}),
        ("put", f"/api/v1/pipelines/{pipeline}/stages/order", {"stage_ids": [str(stage)]}),
        ("delete", f"/api/v1/pipelines/{pipeline}", None),
        ("get", f"/api/v1/stages/{stage}", None),
        ("patch", f"/api/v1/stages/{stage}", {"probability": 1}),
        ("delete", f"/api/v1/stages/{stage}", None),
        ("get", f"/api/v1/tasks/{task}", None),
        ("patch", f"/api/v1/tasks/{task}", {"title": "Hijacked"}),
        ("delete", f"/api/v1/tasks/{task}", None),
        ("get", f"/api/v1/activities/{activity}", None),
        ("patch", f"/api/v1/activities/{activity}", {"subject": "Hijacked"}),
        ("delete", f"/api/v1/activities/{activity}", None),
    ]


def test_tenant_b_token_gets_404_for_every_route_on_tenant_a_ids(client, tenant_a, tenant_b, a_records):
    before = snapshot(tenant_a, a_records)
    headers = bearer(make_token(tenant_b))  # an owner of B: pipeline writes are allowed to them in B
    for method, url, body in api_attempts(a_records):
        response = (
            getattr(client, method)(url, json=body, headers=headers)
            if body
            else getattr(client, method)(url, headers=headers)
        )
        assert response.status_code == 404, (method, url, response.get_json())
        assert response.mimetype == "application/problem+json"
    assert snapshot(tenant_a, a_records) == before


def test_tenant_b_cannot_point_its_records_at_tenant_a_ids(client, tenant_a, tenant_b, a_records):
    headers = bearer(make_token(tenant_b))
    own = client.post("/api/v1/deals", json={"name": "Own"}, headers=headers).get_json()
    attempts = [
        ("post", "/api/v1/deals", {"name": "x", "stage_id": str(a_records["stage"])}, "stage_id"),
        ("post", "/api/v1/deals", {"name": "x", "pipeline_id": str(a_records["pipeline"])}, "pipeline_id"),
        ("post", "/api/v1/deals", {"name": "x", "account_id": str(a_records["account"])}, "account_id"),
        ("post", f"/api/v1/deals/{own['id']}/move", {"stage_id": str(a_records["stage"])}, "stage_id"),
        ("post", "/api/v1/tasks", {"title": "x", "deal_id": str(a_records["deal"])}, "deal_id"),
        ("post", "/api/v1/activities", {"kind": "note", "subject": "x", "deal_id": str(a_records["deal"])},
         "deal_id"),
    ]  # fmt: skip
    for method, url, body, field in attempts:
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"], (url, body)


def test_lists_and_forecast_of_tenant_b_never_include_tenant_a_rows(client, tenant_a, tenant_b, a_records):
    headers = bearer(make_token(tenant_b))
    for url in (
        "/api/v1/deals", "/api/v1/deals?q=secret", f"/api/v1/deals?pipeline_id={a_records['pipeline']}",
        "/api/v1/tasks", "/api/v1/tasks?q=secret", f"/api/v1/tasks?deal_id={a_records['deal']}",
        f"/api/v1/activities?account_id={a_records['account']}",
        f"/api/v1/activities?deal_id={a_records['deal']}",
    ):  # fmt: skip
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and response.get_json()["data"] == [], url
    pipelines = client.get("/api/v1/pipelines", headers=headers).get_json()["data"]
    assert str(a_records["pipeline"]) not in {p["id"] for p in pipelines}
    forecast = client.get("/api/v1/forecast?start=2031-01", headers=headers).get_json()
    assert forecast["currencies"] == []
    # A sees its own deal in the same forecast.
    own = client.get("/api/v1/forecast?start=2031-01", headers=bearer(make_token(tenant_a))).get_json()
    assert own["currencies"][0]["totals"]["best_case"] == "999.00"


def page_attempts(ids: dict) -> tuple[list[str], list[tuple[str, dict]]]:
    deal, task, stage, pipeline = ids["deal"], ids["task"], ids["stage"], ids["pipeline"]
    reads = [f"/deals/{deal}", f"/deals/{deal}/edit", f"/tasks/{task}", f"/tasks/{task}/edit",
             f"/pipeline?pipeline_id={pipeline}"]  # fmt: skip
    writes = [
        (f"/deals/{deal}/edit", {"name": "Hijacked"}),
        (f"/deals/{deal}/move", {"stage_id": str(ids["other_stage"])}),
        (f"/deals/{deal}/activities", {"kind": "note", "subject": "Hijacked"}),
        (f"/deals/{deal}/delete", {}),
        (f"/tasks/{task}/edit", {"title": "Hijacked"}),
        (f"/tasks/{task}/delete", {}),
        (f"/settings/pipelines/{pipeline}", {"name": "Hijacked"}),
        (f"/settings/pipelines/{pipeline}/delete", {}),
        (f"/settings/pipelines/{pipeline}/stages", {"name": "Hijacked", "probability": "1", "kind": "open"}),
        (f"/settings/stages/{stage}", {"name": "Hijacked", "probability": "1", "kind": "open"}),
        (f"/settings/stages/{stage}/move", {"direction": "down"}),
        (f"/settings/stages/{stage}/delete", {}),
    ]
    return reads, writes


def test_tenant_b_user_gets_404_for_every_page_on_tenant_a_ids(client, tenant_a, tenant_b, a_records):
    before = snapshot(tenant_a, a_records)
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/deals").text)
    reads, writes = page_attempts(a_records)
    for slug in (tenant_b.slug, tenant_a.slug):  # B's own workspace, and A's (where B is no member)
        for path in reads:
            response = client.get(f"/t/{slug}{path}")
            assert response.status_code == 404, (slug, path)
            assert "Secret" not in response.text
        for path, data in writes:
            assert client.post(f"/t/{slug}{path}", data={"csrf_token": token, **data}).status_code == 404, (
                path
            )
    for path in (
        "/deals?q=secret",
        "/tasks?q=secret",
        "/pipeline",
        "/forecast?start=2031-01",
        "/settings/pipelines",
    ):
        response = client.get(f"/t/{tenant_b.slug}{path}")
        assert response.status_code == 200 and "Secret" not in response.text, path
    assert snapshot(tenant_a, a_records) == before
