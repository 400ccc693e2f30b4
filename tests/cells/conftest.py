"""Two cells: the suite's PostgreSQL and Redis are cell ``a`` (the default cell, which also holds the
platform directory), and a second embedded PostgreSQL and Redis under the worker's instance folder are
cell ``b``. The ``app`` of these tests is configured with both, as an operator's CELLS_FILE would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from saas import create_app
from saas.cells import DEFAULT_CELL, Cell
from saas.db import db
from saas.embedded import embedded_database_url, embedded_redis_url, normalise_database_url
from saas.tenants.provisioning import provision_tenant
from tests.conftest import PASSWORD, TenantFixture, reset_database
from tests.exports.conftest import s3_server  # noqa: F401  (moto's S3 server, for cell_buckets)
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)

CELL_B = "b"
CELL_B_BUCKET = "cell-b-files"
DEFAULT_BUCKET = "exports-test"
"""Cell ``b``'s S3 bucket (on the moto server of tests.exports.conftest, when a test asks for it)."""
APPS: list[Flask] = []
"""Every app of this session whose tenant pools may hold connections (the suite's and the two-cell one)."""


@dataclass(frozen=True)
class CellServer:
    """One cell's PostgreSQL as its admin user sees it (catalogs and statistics), and its Redis."""

    name: str
    engine: Engine
    redis_url: str

    def scalar(self, sql: str, **params: object) -> object:
        # A fresh transaction each time: statistics views are a snapshot per transaction.
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def has_role(self, role: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM pg_roles WHERE rolname = :r", r=role))

    def has_schema(self, schema: str) -> bool:
        return bool(self.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = :s", s=schema))


@pytest.fixture(scope="session")
def cell_b_urls(app) -> tuple[str, str]:
    """A second PostgreSQL (SCRAM, a non-superuser app role, like the first) and Redis, emptied of the
    tenants of an earlier run."""
    instance = Path(os.environ["SAAS_INSTANCE_DIR"]) / "cell-b"
    database_url = embedded_database_url(instance)
    engine = create_engine(normalise_database_url(database_url))
    reset_database(engine)
    engine.dispose()
    return database_url, embedded_redis_url(instance)


@pytest.fixture(scope="session")
def app(app, cell_b_urls):  # the suite's app, then one with two cells on the same directory
    database_url, redis_url = cell_b_urls
    settings = replace(
        app.config["SAAS_SETTINGS"],
        cells=(
            Cell(name=DEFAULT_CELL, region="eu-central", label="European Union (Frankfurt)"),
            Cell(
                CELL_B,
                "ru",
                "Russia (Moscow)",
                database_url=database_url,
                redis_url=redis_url,
                s3_bucket=CELL_B_BUCKET,
            ),
        ),
    )
    two_cells = create_app(settings)
    two_cells.config.update(TESTING=True, SERVER_NAME=None)
    APPS[:] = [app, two_cells]
    yield two_cells
    with two_cells.app_context():
        two_cells.extensions["tenant_pools"].dispose()
        two_cells.extensions["cells"].dispose()


@pytest.fixture(scope="session")
def servers(app, cell_b_urls) -> Iterator[dict[str, CellServer]]:
    """Each cell's server, by cell name."""
    with app.app_context():
        engine_a = create_engine(db.engine.url)
    engine_b = create_engine(normalise_database_url(cell_b_urls[0]))
    yield {
        DEFAULT_CELL: CellServer(DEFAULT_CELL, engine_a, app.config["REDIS_URL"]),
        CELL_B: CellServer(CELL_B, engine_b, cell_b_urls[1]),
    }
    engine_a.dispose()
    engine_b.dispose()


@pytest.fixture
def make_cell_tenant(app_ctx) -> Callable[..., TenantFixture]:
    """A tenant provisioned in ``cell`` through the public service (as signup does)."""

    def _make(cell: str, prefix: str = "cell") -> TenantFixture:
        suffix = uuid.uuid4().hex[:8]
        slug, email = f"{prefix}-{suffix}", f"owner-{suffix}@example.com"
        tenant = provision_tenant(slug, f"{prefix.title()} {suffix}", email, PASSWORD, cell=cell)
        return TenantFixture(tenant=tenant, slug=slug, email=email, password=PASSWORD)

    return _make


@pytest.fixture
def forget_signup_limits(app) -> Iterator[None]:
    """Signups here count against the client address's hourly limit, which other signup tests share."""
    yield
    from saas.extensions import limiter

    with app.app_context():
        limiter.reset()


@pytest.fixture(scope="module")
def leave_no_cell_b_tenants(app) -> Iterator[None]:
    """After a module: purge the tenants it left in cell b. The suite's other tests share the directory
    with an app that knows only the default cell, and commands that walk every tenant (``saas tenants
    migrate``, ``saas dev``) refuse a tenant whose cell the configuration does not declare."""
    yield
    from sqlalchemy import select

    from saas.tenants.models import Tenant
    from saas.tenants.provisioning import purge_tenant

    with app.app_context():
        for tenant_id in db.session.scalars(select(Tenant.id).where(Tenant.cell != DEFAULT_CELL)).all():
            purge_tenant(tenant_id, actor="tests")


@pytest.fixture(scope="module")
def cell_buckets(app, s3_server):  # noqa: F811 - the fixture imported above
    """Both cells' buckets on moto's S3 for a whole module (the default cell's and cell b's): what moves a
    tenant between the cells touches them (cell b declares a bucket, so it is never left unset)."""
    import boto3

    original = app.config["SAAS_SETTINGS"]
    app.config["SAAS_SETTINGS"] = replace(original, s3_bucket=DEFAULT_BUCKET, s3_endpoint_url=s3_server)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    if CELL_B_BUCKET not in {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=CELL_B_BUCKET)
    yield client
    app.config["SAAS_SETTINGS"] = original
