"""Fixtures that build real tenants through the public services, on a real PostgreSQL and Redis.

With DATABASE_URL / REDIS_URL set the suite uses those servers; otherwise the embedded ones under
``instance/test`` (a clean platform schema every run).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest

# Under pytest-xdist each worker gets an embedded PostgreSQL and Redis of its own (instance/test-gw1...);
# workers inherit the controller's environment, so the suffix is added to whatever it chose.
os.environ.setdefault("SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "test"))
os.environ["SAAS_INSTANCE_DIR"] += (
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").replace("gw0", "").replace("gw", "-gw")
)
os.environ.setdefault("SAAS_ENV", "test")
os.environ.setdefault("LOGIN_RATE_LIMIT", "1000 per minute")

from flask.testing import FlaskClient
from sqlalchemy import text, update

from saas import create_app
from saas.auth.services import create_api_token
from saas.db import db
from saas.embedded import SUPERUSER_PASSWORD_FILE
from saas.migrations import upgrade_platform
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant
from saas.tenants.roles import drop_tenant_role
from tests.fake_stripe import fake_stripe  # the session's one fake Stripe, for billing and e2e

__all__ = ["fake_stripe"]

PASSWORD = "correct-horse-battery"


def reset_database(engine) -> None:
    """Drop every tenant schema and role and the platform schema left by an earlier run.

    One transaction per schema: dropping hundreds in one would exhaust PostgreSQL's lock table.
    """
    with engine.begin() as connection:
        owners = connection.execute(
            text(
                "SELECT n.nspname, r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner "
                "WHERE n.nspname ~ '^t_[0-9a-f]{12}$'"
            )
        ).all()
    for schema, role in owners:
        with engine.begin() as connection:
            if role == schema:
                drop_tenant_role(connection, role)
            else:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS platform CASCADE")


def superuser_connection() -> psycopg.Connection:
    """The embedded PostgreSQL's superuser (tests only: setting up PgBouncer, reading verifiers, the
    suite's durability settings)."""
    url = db.engine.url
    if url.query.get("host") is None:
        pytest.skip("needs the embedded PostgreSQL and its superuser")
    password = (Path(os.environ["SAAS_INSTANCE_DIR"]) / SUPERUSER_PASSWORD_FILE).read_text().strip()
    return psycopg.connect(
        host=url.query["host"], user="postgres", password=password, dbname=url.database, autocommit=True
    )


def without_durability() -> None:
    """The suite's own embedded PostgreSQL keeps nothing past the run, so it need not flush to disk: a
    commit (and the suite commits about 1,200 schemas' DDL) no longer waits for an fsync. Only a crash of
    the machine could lose data, and only this test database; a killed PostgreSQL still recovers."""
    with superuser_connection() as connection:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(f"ALTER SYSTEM SET {setting} = off")
        connection.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def app():
    app = create_app()
    app.config.update(TESTING=True, SERVER_NAME=None)
    with app.app_context():
        if "DATABASE_URL" not in os.environ:
            without_durability()
        reset_database(db.engine)
        upgrade_platform(db.engine)
        from saas.jobs import redis_connection

        redis_connection().flushdb()
    yield app


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@dataclass
class TenantFixture:
    tenant: Tenant
    slug: str
    email: str
    password: str

    @property
    def ref(self):
        return self.tenant.ref


DONE_WITH = "done_by_test"
"""The status a test's workspaces get once it ends: periodic jobs skip them (``fanout.RUNNING_STATUSES``),
so a later test's sweep visits its own workspaces, not the hundreds a session has made before it."""


@pytest.fixture
def make_tenant(app_ctx):
    made: list[str] = []

    def _make(prefix: str = "co") -> TenantFixture:
        suffix = uuid.uuid4().hex[:8]
        slug = f"{prefix}-{suffix}"
        email = f"owner-{suffix}@example.com"
        tenant = provision_tenant(slug, f"{prefix.title()} {suffix}", email, PASSWORD)
        made.append(tenant.id)
        return TenantFixture(tenant=tenant, slug=slug, email=email, password=PASSWORD)

    yield _make
    db.session.rollback()
    db.session.execute(
        update(Tenant).where(Tenant.id.in_(made), Tenant.status == "active").values(status=DONE_WITH)
    )
    db.session.commit()


@pytest.fixture(autouse=True)
def no_jobs_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A job a test queued but did not run must not run in a later test's worker: it would act for a
    finished test (mail into another test's sink) and make the later test slower the more came before."""
    yield
    if "app" not in request.fixturenames:
        return
    from saas.jobs import queue

    with request.getfixturevalue("app").app_context():
        jobs = queue()
        jobs.empty()
        scheduled = jobs.scheduled_job_registry
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)


@pytest.fixture
def tenant_a(make_tenant):
    return make_tenant("alpha")


@pytest.fixture
def tenant_b(make_tenant):
    return make_tenant("beta")


SET_ASIDE = "set_aside_by_test"
"""A status periodic jobs do not serve (``fanout.RUNNING_STATUSES``): other tests' workspaces, meanwhile."""


@contextmanager
def other_workspaces_set_aside(*kept: TenantFixture) -> Iterator[None]:
    """Periodic jobs walk every workspace in the directory, and a test session makes hundreds: a test of
    a sweep sets the others aside meanwhile (the jobs report them skipped), so it does not grow with the
    suite. Each pytest worker has a database of its own and runs its tests one at a time."""
    keep = [fixture.tenant.id for fixture in kept]
    db.session.execute(
        update(Tenant).where(Tenant.status == "active", Tenant.id.not_in(keep)).values(status=SET_ASIDE)
    )
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(update(Tenant).where(Tenant.status == SET_ASIDE).values(status="active"))
        db.session.commit()


def make_token(tenant: TenantFixture) -> str:
    _, secret = create_api_token(db.session, tenant.slug, tenant.email, "tests")
    db.session.commit()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def walk_list(client: FlaskClient, headers: dict[str, str], path: str, **params) -> list[dict]:
    """Every record of an API list, two per page, following ``next_cursor`` to the end."""
    seen: list[dict] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"{path}?{urlencode(query)}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
    )


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()
