"""Redis gone under API requests (found by bench/soak.py): rate limits live there, so a request that meets
the outage answers a clean 503 with ``Retry-After``, never a 500; a write committed before Redis went away
answers what it did, so that the client does not send it twice; and the answers kept for Idempotency-Keys
live in PostgreSQL, so a Redis that comes back empty still replays them.

The app here has a Redis of its own (in a fresh instance folder), so killing it touches no other test.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import uuid
from collections.abc import Iterator

import psutil
import pytest
from flask import request
from sqlalchemy import func, select

from saas import create_app, embedded
from saas.db import tenant_session
from saas.extensions import limiter
from saas.jobs import redis_connection
from saas.modules.core.models import Contact, ImportJob
from tests.conftest import bearer, make_token


@pytest.fixture
def own_redis_app(app, tmp_path) -> Iterator:
    """An app on the suite's PostgreSQL and a Redis of its own; the process-wide rate limiter is put
    back on the suite's Redis afterwards (Flask-Limiter keeps one storage per extension object)."""
    settings = dataclasses.replace(
        app.config["SAAS_SETTINGS"],
        instance_dir=tmp_path,
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=None,
    )
    suites = limiter._storage, limiter._limiter
    try:
        own = create_app(settings)
        own.config.update(TESTING=True)
        yield own
    finally:
        limiter._storage, limiter._limiter = suites
        _kill_redis(tmp_path)


def _kill_redis(instance) -> None:
    """SIGKILL the instance's Redis, as a crash or a failover loses it."""
    server = embedded._redis_servers.get(instance / embedded.REDIS_DBFILE)
    if server is not None and server.pid:
        process = psutil.Process(server.pid)
        process.kill()
        process.wait(timeout=30)


def _contacts_named(tenant, name: str) -> int:
    with tenant_session(tenant.ref) as session:
        return session.scalar(select(func.count()).select_from(Contact).where(Contact.last_name == name))


def _is_clean_unavailable(response) -> bool:
    return (
        response.status_code == 503
        and response.headers.get("Retry-After") == "5"
        and response.content_type == "application/problem+json"
    )


def test_api_requests_while_redis_is_down_get_a_503_with_retry_after_not_a_500(
    app, own_redis_app, tenant_a, tmp_path
):
    headers = bearer(make_token(tenant_a))
    client = own_redis_app.test_client()
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200

    _kill_redis(tmp_path)
    down = [
        client.get("/api/v1/contacts", headers=headers),
        client.post("/api/v1/contacts", json={"last_name": "During"}, headers=headers),
        client.post(
            "/api/v1/contacts", json={"last_name": "During"}, headers={**headers, "Idempotency-Key": "k-1"}
        ),
    ]
    assert all(_is_clean_unavailable(r) for r in down), [(r.status_code, r.text[:200]) for r in down]
    assert _contacts_named(tenant_a, "During") == 0  # met before anything was written


def test_a_create_committed_before_redis_went_away_answers_201_and_is_stored_once(
    app, own_redis_app, tenant_a, tmp_path
):
    headers = {**bearer(make_token(tenant_a)), "Idempotency-Key": "soak-found-1"}

    @own_redis_app.after_request
    def redis_goes_away(response):
        # Runs before the idempotency hook (Flask runs after_request hooks last registered first): the
        # key was claimed, the contact is flushed; Redis is lost before the commit and the answer's keeping.
        if request.headers.get("Idempotency-Key") == "soak-found-1":
            _kill_redis(tmp_path)
        return response

    answer = own_redis_app.test_client().post(
        "/api/v1/contacts", json={"last_name": "Committed"}, headers=headers
    )
    assert answer.status_code == 201, answer.text[:300]
    assert _contacts_named(tenant_a, "Committed") == 1


def test_an_import_started_as_redis_goes_away_answers_202_and_stays_queued_for_the_sweep(
    app, own_redis_app, tenant_a, tmp_path
):
    headers = {**bearer(make_token(tenant_a)), "Idempotency-Key": "soak-found-2"}

    @own_redis_app.after_request
    def redis_goes_away(response):
        # Before the commit, whose after-commit hook queues the import's job.
        if request.headers.get("Idempotency-Key") == "soak-found-2":
            _kill_redis(tmp_path)
        return response

    content = b"First name,Last name,Email\nAda,Queued,ada.queued@example.com\n"
    answer = own_redis_app.test_client().post(
        "/api/v1/imports",
        data={"entity": "contacts", "file": (io.BytesIO(content), "people.csv")},
        headers=headers,
    )
    assert answer.status_code == 202, answer.text[:300]
    with tenant_session(tenant_a.ref) as session:
        job = session.get(ImportJob, uuid.UUID(answer.get_json()["id"]))
        # Committed as queued: resume_stalled_imports queues it again once it is found stalled.
        assert job.status == "queued"


def test_a_kept_answer_outlives_redis_losing_everything_it_held(app, own_redis_app, tenant_a):
    headers = {**bearer(make_token(tenant_a)), "Idempotency-Key": "retry-after-restart"}
    client = own_redis_app.test_client()
    first = client.post("/api/v1/contacts", json={"last_name": "Once"}, headers=headers)
    assert first.status_code == 201, first.text[:300]

    with own_redis_app.app_context():
        redis_connection().flushall()  # what a restart without persistence leaves
    again = client.post("/api/v1/contacts", json={"last_name": "Once"}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _contacts_named(tenant_a, "Once") == 1


def test_a_key_in_flight_answers_409_to_its_twin_and_its_work_commits_once(app, own_redis_app, tenant_a):
    headers = {**bearer(make_token(tenant_a)), "Idempotency-Key": "double-click"}
    client = own_redis_app.test_client()
    twins = []

    @own_redis_app.after_request
    def twin_arrives_while_the_first_is_unanswered(response):
        # The first request's work is flushed, its claim held in its open transaction. The twin is sent from
        # another thread, as another server thread would take it (a request inside a request shares ``g``).
        if request.headers.get("Idempotency-Key") == "double-click" and not twins:
            twins.append(None)
            send = lambda: twins.__setitem__(  # noqa: E731
                0,
                own_redis_app.test_client().post(
                    "/api/v1/contacts", json={"last_name": "Twin"}, headers=headers
                ),
            )
            sender = threading.Thread(target=send)
            sender.start()
            sender.join(timeout=60)
        return response

    first = client.post("/api/v1/contacts", json={"last_name": "Twin"}, headers=headers)
    assert first.status_code == 201, first.text[:300]
    twin = twins[0]
    assert twin.status_code == 409 and twin.content_type == "application/problem+json"
    later = client.post("/api/v1/contacts", json={"last_name": "Twin"}, headers=headers)
    assert later.headers.get("Idempotent-Replayed") == "true" and later.get_json() == first.get_json()
    assert _contacts_named(tenant_a, "Twin") == 1
