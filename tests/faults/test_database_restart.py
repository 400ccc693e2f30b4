"""PostgreSQL stopped and started again under requests: every answer meanwhile is a clean 503 with
``Retry-After`` (never a 500), nothing is half-applied, and the pools recover without a process restart.

The app here has a PostgreSQL of its own (a fresh instance folder), so stopping it touches no other test.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from saas import create_app
from saas.db import db, tenant_session
from saas.embedded import stop_embedded_database
from saas.migrations import upgrade_platform
from saas.modules.core.models import Contact
from saas.tenants.provisioning import provision_tenant
from tests.conftest import PASSWORD, bearer, make_token

ROOT = Path(__file__).resolve().parents[2]


def _start_database(instance: Path) -> None:
    # In a process of its own, as a restarted server would come back: this one keeps its pools.
    start = (
        "from pathlib import Path; from saas.embedded import embedded_database_url; "
        f"embedded_database_url(Path({str(instance)!r}))"
    )
    subprocess.run([sys.executable, "-c", start], cwd=ROOT, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def restartable(app, tmp_path_factory):
    instance = tmp_path_factory.mktemp("restartable")
    settings = dataclasses.replace(
        app.config["SAAS_SETTINGS"],
        instance_dir=instance,
        database_url=None,
        redis_url=app.config["REDIS_URL"],
    )
    own = create_app(settings)
    own.config.update(TESTING=True)
    with own.app_context():
        upgrade_platform(db.engine)
        tenant = provision_tenant("restart", "Restart Co", "owner@restart.example", PASSWORD)
        fixture = type(
            "Fixture", (), {"slug": tenant.slug, "email": "owner@restart.example", "tenant": tenant}
        )
        headers = bearer(make_token(fixture))
        ref = tenant.ref
    yield own, headers, ref, instance
    stop_embedded_database(instance)


def _is_clean_unavailable(response) -> bool:
    return (
        response.status_code == 503
        and response.headers.get("Retry-After") == "5"
        and (
            response.content_type == "application/problem+json"
            or ("text/html" in response.content_type and "nothing was saved" in response.text)
        )
    )


def test_requests_while_postgres_is_down_get_a_503_and_the_app_recovers_by_itself(restartable):
    app, headers, ref, instance = restartable
    client = app.test_client()
    assert client.post("/api/v1/contacts", json={"last_name": "Before"}, headers=headers).status_code == 201

    assert stop_embedded_database(instance) is not None
    down = [
        client.get("/api/v1/contacts", headers=headers),
        client.post("/api/v1/contacts", json={"last_name": "During"}, headers=headers),
        client.get("/api/v1/contacts", headers=headers),
        client.get("/"),  # a page that reads the plans
        client.get("/readyz"),
    ]
    assert all(_is_clean_unavailable(r) for r in down[:4]), [(r.status_code, r.text[:200]) for r in down]
    assert down[0].get_json()["detail"].startswith("The database is unavailable")
    assert down[4].status_code == 503

    _start_database(instance)
    # Each pool drops its broken connections on the first failure it meets: a few clean 503s at most,
    # then every answer is right again, in this same process.
    answers = [client.get("/api/v1/contacts", headers=headers) for _ in range(4)]
    assert all(r.status_code == 200 or _is_clean_unavailable(r) for r in answers), [
        r.status_code for r in answers
    ]
    assert answers[-1].status_code == 200 and answers[-2].status_code == 200
    assert client.post("/api/v1/contacts", json={"last_name": "After"}, headers=headers).status_code == 201

    with app.app_context(), tenant_session(ref) as session:
        names = sorted(session.scalars(select(Contact.last_name)))
    assert names == ["After", "Before"]  # the request that met the outage left nothing behind
