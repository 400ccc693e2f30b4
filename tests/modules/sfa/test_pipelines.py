"""Pipelines and stages: admins shape them (API and settings page), members only read them; a stage that
holds deals is neither deleted nor changes kind; bad input is refused and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.sfa.models import Pipeline, Stage
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


@pytest.fixture
def member_headers(tenant_a):
    email = f"member-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    return bearer(make_token(type(tenant_a)(tenant_a.tenant, tenant_a.slug, email, PASSWORD))), email


def snapshot(fixture) -> list[tuple]:
    """Every pipeline and stage as plain values, to prove a refused change wrote nothing."""
    with tenant_session(fixture.ref) as session:
        rows = session.execute(
            select(
                Pipeline.name, Pipeline.is_default, Stage.name, Stage.position, Stage.probability, Stage.kind
            )
            .join(Stage)
            .order_by(Pipeline.name, Stage.position)
        )
        return [tuple(row) for row in rows]


def default_pipeline(client, headers) -> dict:
    return next(
        p for p in client.get("/api/v1/pipelines", headers=headers).get_json()["data"] if p["is_default"]
    )


def test_every_member_reads_pipelines_with_ordered_stages(client, tenant_a, member_headers):
    headers, _ = member_headers
    listed = client.get("/api/v1/pipelines", headers=headers)
    assert listed.status_code == 200
    (pipeline,) = listed.get_json()["data"]
    assert [(s["name"], s["probability"], s["kind"]) for s in pipeline["stages"]][:2] == [
        ("Prospecting", 10, "open"), ("Qualification", 25, "open"),
    ]  # fmt: skip
    stage = pipeline["stages"][0]
    assert client.get(f"/api/v1/stages/{stage['id']}", headers=headers).get_json()["name"] == "Prospecting"
    assert client.get(f"/api/v1/pipelines/{pipeline['id']}", headers=headers).get_json()["name"] == "Sales"


def test_admin_creates_renames_and_switches_the_default_pipeline(client, tenant_a, headers):
    created = client.post(
        "/api/v1/pipelines",
        json={"name": "Renewals", "stages": [
            {"name": "Due", "probability": 60}, {"name": "Renewed", "probability": 100, "kind": "won"},
            {"name": "Churned", "probability": 0, "kind": "lost"},
        ]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["is_default"], [s["position"] for s in body["stages"]]) == (False, [0, 1, 2])
    url = f"/api/v1/pipelines/{body['id']}"
    assert (
        client.patch(url, json={"name": "Renewals 2031"}, headers=headers).get_json()["name"]
        == "Renewals 2031"
    )
    assert client.patch(url, json={"is_default": True}, headers=headers).get_json()["is_default"] is True
    defaults = [
        p["name"]
        for p in client.get("/api/v1/pipelines", headers=headers).get_json()["data"]
        if p["is_default"]
    ]
    assert defaults == ["Renewals 2031"]
    # A pipeline created without stages gets the standard ones.
    plain = client.post("/api/v1/pipelines", json={"name": "Partners"}, headers=headers).get_json()
    assert [s["name"] for s in plain["stages"]][-2:] == ["Won", "Lost"]


def test_admin_adds_reorders_and_changes_stages(client, tenant_a, headers):
    pipeline = default_pipeline(client, headers)
    added = client.post(
        f"/api/v1/pipelines/{pipeline['id']}/stages",
        json={"name": "Demo", "probability": 40, "position": 2},
        headers=headers,
    )
    assert added.status_code == 201, added.get_json()
    names = [s["name"] for s in default_pipeline(client, headers)["stages"]]
    assert names == ["Prospecting", "Qualification", "Demo", "Proposal", "Negotiation", "Won", "Lost"]

    ids = [s["id"] for s in default_pipeline(client, headers)["stages"]]
    reordered = client.put(
        f"/api/v1/pipelines/{pipeline['id']}/stages/order",
        json={"stage_ids": list(reversed(ids))},
        headers=headers,
    )
    assert reordered.status_code == 200
    assert [s["id"] for s in reordered.get_json()["stages"]] == list(reversed(ids))
    assert [s["position"] for s in reordered.get_json()["stages"]] == list(range(len(ids)))

    changed = client.patch(
        f"/api/v1/stages/{added.get_json()['id']}",
        json={"name": "Live demo", "probability": 45},
        headers=headers,
    )
    assert (changed.get_json()["name"], changed.get_json()["probability"]) == ("Live demo", 45)


def test_a_stage_with_deals_is_not_deleted_and_keeps_its_kind(client, tenant_a, headers):
    pipeline = default_pipeline(client, headers)
    proposal = next(s for s in pipeline["stages"] if s["name"] == "Proposal")
    for _ in range(2):
        client.post("/api/v1/deals", json={"name": "Held", "stage_id": proposal["id"]}, headers=headers)
    before = snapshot(tenant_a)
    refused = client.delete(f"/api/v1/stages/{proposal['id']}", headers=headers)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "Proposal" in refused.get_json()["detail"] and "2 deal(s)" in refused.get_json()["detail"]
    kind = client.patch(f"/api/v1/stages/{proposal['id']}", json={"kind": "won"}, headers=headers)
    assert kind.status_code == 409 and "move them out" in kind.get_json()["detail"]
    assert snapshot(tenant_a) == before
    # Its probability may change: the forecast follows it, the history keeps the old one.
    assert (
        client.patch(
            f"/api/v1/stages/{proposal['id']}", json={"probability": 55}, headers=headers
        ).status_code
        == 200
    )


def test_an_empty_stage_is_deleted_and_the_others_close_up(client, tenant_a, headers):
    pipeline = default_pipeline(client, headers)
    second = pipeline["stages"][1]
    assert client.delete(f"/api/v1/stages/{second['id']}", headers=headers).status_code == 204
    stages = default_pipeline(client, headers)["stages"]
    assert second["id"] not in [s["id"] for s in stages]
    assert [s["position"] for s in stages] == list(range(len(stages)))


def test_the_last_open_stage_and_the_default_pipeline_stay(client, tenant_a, headers):
    created = client.post(
        "/api/v1/pipelines",
        json={"name": "Tiny", "stages": [
            {"name": "Only", "probability": 50}, {"name": "Done", "probability": 100, "kind": "won"},
        ]},
        headers=headers,
    ).get_json()  # fmt: skip
    only = created["stages"][0]["id"]
    before = snapshot(tenant_a)
    assert client.delete(f"/api/v1/stages/{only}", headers=headers).status_code == 409
    assert client.patch(f"/api/v1/stages/{only}", json={"kind": "lost"}, headers=headers).status_code == 409
    default = default_pipeline(client, headers)
    assert client.delete(f"/api/v1/pipelines/{default['id']}", headers=headers).status_code == 409
    assert (
        client.patch(
            f"/api/v1/pipelines/{default['id']}", json={"is_default": False}, headers=headers
        ).status_code
        == 422
    )
    assert snapshot(tenant_a) == before
    assert client.delete(f"/api/v1/pipelines/{created['id']}", headers=headers).status_code == 204


def test_members_cannot_change_pipelines(client, tenant_a, member_headers):
    headers, _ = member_headers
    pipeline = default_pipeline(client, headers)
    stage = pipeline["stages"][0]["id"]
    before = snapshot(tenant_a)
    attempts = [
        client.post("/api/v1/pipelines", json={"name": "Mine"}, headers=headers),
        client.post("/api/v1/pipelines", json={"bad": "input"}, headers=headers),  # 403 before validation
        client.patch(f"/api/v1/pipelines/{pipeline['id']}", json={"name": "Mine"}, headers=headers),
        client.delete(f"/api/v1/pipelines/{pipeline['id']}", headers=headers),
        client.post(
            f"/api/v1/pipelines/{pipeline['id']}/stages",
            json={"name": "X", "probability": 1},
            headers=headers,
        ),
        client.put(
            f"/api/v1/pipelines/{pipeline['id']}/stages/order", json={"stage_ids": []}, headers=headers
        ),
        client.patch(f"/api/v1/stages/{stage}", json={"probability": 99}, headers=headers),
        client.delete(f"/api/v1/stages/{stage}", headers=headers),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert all(response.mimetype == "application/problem+json" for response in attempts)
    assert snapshot(tenant_a) == before


UNKNOWN = "7f1d3f62-5a6b-4a8e-9f00-000000000000"
BAD_STAGES = [
    ({"probability": 50}, "name"),
    ({"name": "", "probability": 50}, "name"),
    ({"name": "x" * 101, "probability": 50}, "name"),
    ({"name": "Ok"}, "probability"),
    ({"name": "Ok", "probability": 101}, "probability"),
    ({"name": "Ok", "probability": -1}, "probability"),
    ({"name": "Ok", "probability": 50.5}, "probability"),
    ({"name": "Ok", "probability": "high"}, "probability"),
    ({"name": "Ok", "probability": 5, "kind": "maybe"}, "kind"),
    ({"name": "Proposal", "probability": 5}, "name"),  # taken in this pipeline
    ({"name": "Ok", "probability": 5, "colour": "red"}, "colour"),
]


BAD_PIPELINES = [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "Sales"}, "name"),
    ({"name": "Ok", "stages": []}, "stages"),
    ({"name": "Ok", "stages": [{"name": "Won", "probability": 100, "kind": "won"}]}, None),  # no open stage
    ({"name": "Ok", "stages": [{"name": "A", "probability": 1}, {"name": "a", "probability": 2}]}, "name"),
    ({"name": "Ok", "stages": [{"name": "A", "probability": 200}]}, "stages"),
    ({"name": "Ok", "x": 1}, "x"),
]  # fmt: skip


def refused(response, field: str | None, case) -> None:
    """A 422 problem naming ``field``, or (for ``None``) a 409 problem: a rule, not a field, refused it."""
    assert response.mimetype == "application/problem+json", case
    if field is None:
        assert response.status_code == 409, (case, response.get_json())
    else:
        assert response.status_code == 422 and field in response.get_json()["errors"], (
            case,
            response.get_json(),
        )


def test_bad_pipelines_and_stages_are_refused_and_nothing_written(client, tenant_a, headers):
    pipeline = default_pipeline(client, headers)
    stage = pipeline["stages"][0]["id"]
    before = snapshot(tenant_a)
    for body, field in BAD_PIPELINES:
        refused(client.post("/api/v1/pipelines", json=body, headers=headers), field, body)
    for body, field in BAD_STAGES:
        refused(
            client.post(f"/api/v1/pipelines/{pipeline['id']}/stages", json=body, headers=headers), field, body
        )
    # A change names only what changes: cases that merely leave a field out are no errors there.
    for body, field in [case for case in BAD_STAGES if len(case[0]) > 1]:
        refused(client.patch(f"/api/v1/stages/{stage}", json=body, headers=headers), field, body)
    ids = [s["id"] for s in pipeline["stages"]]
    for order in ([], ids[1:], [ids[0], *ids[:-1]], [UNKNOWN]):
        url = f"/api/v1/pipelines/{pipeline['id']}/stages/order"
        refused(client.put(url, json={"stage_ids": order}, headers=headers), "stage_ids", order)
    assert snapshot(tenant_a) == before


# Settings page


def test_admin_shapes_stages_on_the_settings_page(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/settings/pipelines"
    page = client.get(base)
    assert page.status_code == 200 and "Negotiation" in page.text
    token = csrf_token_from(page.text)
    with tenant_session(tenant_a.ref) as session:
        pipeline = session.scalar(select(Pipeline))
        pipeline_id = pipeline.id
        proposal = session.scalar(select(Stage).where(Stage.name == "Proposal"))
        proposal_id = proposal.id
    added = client.post(
        f"{base}/{pipeline_id}/stages",
        data={"csrf_token": token, "name": "Demo", "probability": "40", "kind": "open"},
    )
    assert added.status_code == 302
    moved = client.post(
        f"/t/{tenant_a.slug}/settings/stages/{proposal_id}/move",
        data={"csrf_token": token, "direction": "down"},
    )
    assert moved.status_code == 302
    names = [row[2] for row in snapshot(tenant_a)]
    assert names == ["Prospecting", "Qualification", "Negotiation", "Proposal", "Won", "Lost", "Demo"]
    renamed = client.post(
        f"/t/{tenant_a.slug}/settings/stages/{proposal_id}",
        data={"csrf_token": token, "name": "Offer", "probability": "55", "kind": "open"},
    )
    assert renamed.status_code == 302
    assert ("Sales", True, "Offer", 3, 55, "open") in snapshot(tenant_a)


def test_settings_page_says_why_a_stage_with_deals_stays(client, tenant_a, headers):
    proposal = next(s for s in default_pipeline(client, headers)["stages"] if s["name"] == "Proposal")
    client.post("/api/v1/deals", json={"name": "Held", "stage_id": proposal["id"]}, headers=headers)
    login(client, tenant_a.email, tenant_a.password)
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/settings/pipelines").text)
    before = snapshot(tenant_a)
    refused = client.post(
        f"/t/{tenant_a.slug}/settings/stages/{proposal['id']}/delete", data={"csrf_token": token}
    )
    assert refused.status_code == 409
    assert "still holds 1 deal(s)" in refused.text and 'role="alert"' in refused.text
    bad = client.post(
        f"/t/{tenant_a.slug}/settings/stages/{proposal['id']}",
        data={"csrf_token": token, "name": "Proposal", "probability": "150", "kind": "open"},
    )
    assert bad.status_code == 422 and "Please correct the stage." in bad.text
    assert snapshot(tenant_a) == before


def test_members_get_403_on_the_settings_page(client, tenant_a, member_headers):
    _, email = member_headers
    login(client, email, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/pipelines").status_code == 403
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/deals").text)
    with tenant_session(tenant_a.ref) as session:
        count = session.scalar(select(func.count()).select_from(Pipeline))
    created = client.post(
        f"/t/{tenant_a.slug}/settings/pipelines", data={"csrf_token": token, "name": "Mine"}
    )
    assert created.status_code == 403
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Pipeline)) == count
