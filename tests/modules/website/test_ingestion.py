"""The tracking endpoint /w/<slug>/events: batches from the workspace's listed sites are stored with one
insert and answered with CORS for that origin only; other origins, bad batches, a switched-off module and
floods are refused with problem documents; a batch sent to one workspace never lands in another."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.switches import set_module_enabled
from saas.modules.website.models import WebsitePageView, WebsiteVisitor
from tests.modules.website.conftest import SITE, list_site, post_batch


def _views(fixture) -> list[tuple[str, str | None]]:
    with tenant_session(fixture.ref) as session:
        return [
            (view.path, view.referrer)
            for view in session.scalars(select(WebsitePageView).order_by(WebsitePageView.occurred_at.desc()))
        ]


def test_a_batch_from_a_listed_site_is_stored_and_answered_for_that_origin(client, tenant_a):
    list_site(tenant_a)
    visitor = uuid.uuid4()
    body = {
        "visitor": str(visitor),
        "session": str(uuid.uuid4()),
        "events": [
            {"path": "/pricing?email=ann@example.org#plans", "title": "Pricing", "ago": 0,
             "referrer": "https://search.example/q?ann"},
            {"path": "/", "title": "Home", "ago": 5000},
        ],
    }  # fmt: skip
    response = client.post(f"/w/{tenant_a.slug}/events", data=json.dumps(body), headers={"Origin": SITE})
    assert response.status_code == 202 and response.get_json() == {"accepted": 2}
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Credentials" not in response.headers
    # Only the path (no query, which may carry an address) and the referrer's origin are kept.
    assert _views(tenant_a) == [("/pricing", "https://search.example"), ("/", None)]
    with tenant_session(tenant_a.ref) as session:
        stored = session.get(WebsiteVisitor, visitor)
        assert stored is not None and stored.contact_id is None


def test_another_origin_or_none_listed_is_refused_and_gets_no_cors(client, tenant_a):
    refused = post_batch(client, tenant_a.slug, ["/"])  # nothing listed yet
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    list_site(tenant_a)
    for origin in ("https://evil.example", "http://www.shop.example", ""):
        response = post_batch(client, tenant_a.slug, ["/"], origin=origin)
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
    assert _views(tenant_a) == []


def test_bad_batches_are_problem_documents_and_store_nothing(client, tenant_a):
    list_site(tenant_a)
    path = f"/w/{tenant_a.slug}/events"
    good = {"visitor": str(uuid.uuid4()), "session": str(uuid.uuid4())}
    for body in (
        "not json",
        json.dumps([1, 2]),
        json.dumps({**good, "events": []}),
        json.dumps({**good, "events": [{"path": "/"}] * 51}),
        json.dumps({**good, "events": [{"path": "no-slash"}]}),
        json.dumps({**good, "events": [{"path": "/", "ago": -1}]}),
        json.dumps({**good, "events": [{"path": "/", "ago": 10**12}]}),
        json.dumps({**good, "visitor": "not-a-uuid", "events": [{"path": "/"}]}),
    ):
        response = client.post(path, data=body, headers={"Origin": SITE})
        assert response.status_code in (400, 422), body
        assert response.mimetype == "application/problem+json", body
    assert _views(tenant_a) == []
    assert client.post("/w/no-such-workspace/events", data="{}", headers={"Origin": SITE}).status_code == 404


def test_a_batch_sent_to_tenant_b_lands_in_tenant_b_only(client, tenant_a, tenant_b):
    list_site(tenant_a)
    list_site(tenant_b, "https://b.example")
    # A's site cannot write into B (not B's origin), and B's own batch stays in B.
    assert post_batch(client, tenant_b.slug, ["/from-a"]).status_code == 403
    assert post_batch(client, tenant_b.slug, ["/b-only"], origin="https://b.example").status_code == 202
    assert _views(tenant_a) == [] and _views(tenant_b) == [("/b-only", None)]


def test_the_endpoint_and_script_are_gone_while_the_module_is_off(client, tenant_a):
    list_site(tenant_a)
    assert client.get(f"/w/{tenant_a.slug}/track.js").status_code == 200
    set_module_enabled(db.session, tenant_a.tenant.id, "website", False, actor="test")
    db.session.commit()
    for response in (post_batch(client, tenant_a.slug, ["/"]), client.get(f"/w/{tenant_a.slug}/track.js")):
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert _views(tenant_a) == []


def test_batches_are_limited_per_address(app, client, tenant_a, monkeypatch):
    list_site(tenant_a)
    monkeypatch.setitem(app.config, "WEBSITE_EVENTS_RATE_LIMIT", "2 per minute")
    codes = [post_batch(client, tenant_a.slug, ["/"]).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


def test_batches_are_limited_per_workspace_whatever_the_address(app, client, tenant_a, tenant_b, monkeypatch):
    list_site(tenant_a)
    list_site(tenant_b)
    monkeypatch.setitem(app.config, "WEBSITE_WORKSPACE_RATE_LIMIT", "3 per minute")
    codes = [
        post_batch(client, tenant_a.slug, ["/"], environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code
        for n in range(1, 5)
    ]
    assert codes == [202, 202, 202, 429]
    assert post_batch(client, tenant_b.slug, ["/"]).status_code == 202  # another workspace is not held back
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(WebsitePageView)) == 3
