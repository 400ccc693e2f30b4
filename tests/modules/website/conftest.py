"""Website fixtures: a tenant whose listed site is ``SITE``, batches posted the way the tracking script
posts them (text/plain JSON from the site's origin), and the generous rate limits every test but the
limits' own needs (the test client has one address)."""

from __future__ import annotations

import json
import uuid

import pytest
from flask.testing import FlaskClient

from saas.db import tenant_session
from saas.modules.website import site
from tests.conftest import TenantFixture

SITE = "https://www.shop.example"


@pytest.fixture(autouse=True)
def generous_rate_limits(app, monkeypatch):
    for name in ("WEBSITE_EVENTS_RATE_LIMIT", "WEBSITE_WORKSPACE_RATE_LIMIT", "MARKETING_PUBLIC_RATE_LIMIT"):
        monkeypatch.setitem(app.config, name, "10000 per minute")


def list_site(fixture: TenantFixture, *origins: str) -> None:
    with tenant_session(fixture.ref) as session:
        site.update_settings(session, {"origins": list(origins or (SITE,)), "retention_days": 90})


def post_batch(
    client: FlaskClient,
    slug: str,
    paths: list[str],
    *,
    visitor: uuid.UUID | None = None,
    session: uuid.UUID | None = None,
    origin: str = SITE,
    environ_base: dict | None = None,
):
    body = {
        "visitor": str(visitor or uuid.uuid4()),
        "session": str(session or uuid.uuid4()),
        "events": [{"path": path, "title": f"Page {path}", "ago": 10 * i} for i, path in enumerate(paths)],
    }
    return client.post(
        f"/w/{slug}/events",
        data=json.dumps(body),
        headers={"Origin": origin, "Content-Type": "text/plain"},
        environ_base=environ_base or {},
    )
