"""Two cells: signup into each, every request of a tenant served by its own cell's server only, and no
way from a tenant of one cell into the other (checked on the servers' catalogs and statistics)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from saas.cells import DEFAULT_CELL
from saas.db import db, tenant_pools
from saas.tenant_connections import tenant_login_secret
from saas.tenants.models import Tenant
from saas.tenants.roles import repair_tenant_logins
from tests.cells.conftest import APPS, CELL_B, CellServer
from tests.conftest import bearer, login, make_token
from tests.tenants.conftest import ask_to_sign_up, sign_up

pytestmark = pytest.mark.usefixtures("leave_no_cell_b_tenants")

OTHER = {DEFAULT_CELL: CELL_B, CELL_B: DEFAULT_CELL}
TENANT_ROLE = "^t_[0-9a-f]{12}$"
# Every scan and row change in tenant schemas, as the server's statistics count them.
TENANT_TABLE_ACTIVITY = (
    "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd "
    "+ n_tup_del), 0) FROM pg_stat_user_tables WHERE schemaname ~ :schemas"
)


def _quiet(servers: dict[str, CellServer]) -> None:
    """Close this process's tenant connections and wait until no tenant backend runs on either server:
    a backend writes its statistics out as it exits, so the counters are complete afterwards."""
    for each_app in APPS:
        each_app.extensions["tenant_pools"].dispose()
    deadline = time.monotonic() + 30
    for server in servers.values():
        while server.scalar("SELECT count(*) FROM pg_stat_activity WHERE usename ~ :r", r=TENANT_ROLE):
            assert time.monotonic() < deadline, f"tenant connections on cell {server.name} did not end"
            time.sleep(0.05)


def _activity(server: CellServer, schemas: str = TENANT_ROLE) -> int:
    return int(server.scalar(TENANT_TABLE_ACTIVITY, schemas=schemas))


@pytest.mark.usefixtures("forget_signup_limits")
@pytest.mark.parametrize("cell", [DEFAULT_CELL, CELL_B])
def test_signup_into_a_region_builds_schema_and_role_only_on_that_cells_server(
    app, app_ctx, servers, mail_sink, cell
):
    client = app.test_client()
    page = client.get("/signup")
    assert 'name="cell"' in page.text
    assert "Russia (Moscow)" in page.text and "European Union (Frankfurt)" in page.text
    suffix = uuid.uuid4().hex[:8]
    slug, email = f"signup-{cell}-{suffix}", f"founder-{suffix}@example.com"
    answer = sign_up(client, mail_sink, name="Regional Co", slug=slug, admin_email=email, cell=cell)
    assert answer.status_code == 302, answer.text
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    assert tenant.cell == cell
    role, schema = tenant.role_name, tenant.schema_name
    assert servers[cell].has_role(role) and servers[cell].has_schema(schema)
    assert not servers[OTHER[cell]].has_role(role) and not servers[OTHER[cell]].has_schema(schema)
    assert client.get(f"/t/{slug}/contacts").status_code == 200
    label = "Russia (Moscow)" if cell == CELL_B else "European Union (Frankfurt)"
    assert label in client.get(f"/t/{slug}/settings").text


@pytest.mark.usefixtures("forget_signup_limits")
def test_signup_refuses_a_region_not_offered_with_a_form_message(app, client: FlaskClient):
    email = f"n-{uuid.uuid4().hex[:6]}@example.com"
    answer = ask_to_sign_up(client, name="Nowhere Co", admin_email=email, cell="mars")
    assert answer.status_code == 422
    assert 'id="cell-error"' in answer.text


def _contact(client: FlaskClient, token: str, name: str) -> str:
    created = client.post(
        "/api/v1/contacts", json={"first_name": name, "last_name": "Cell"}, headers=bearer(token)
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


@pytest.mark.parametrize("kind", ["api list", "page", "privacy center"])
def test_a_request_of_a_cell_b_tenant_touches_only_cell_b(app, app_ctx, servers, make_cell_tenant, kind):
    tenant = make_cell_tenant(CELL_B)
    token = make_token(tenant)
    client = app.test_client()
    _contact(client, token, "Olga")
    login(client, tenant.email, tenant.password)
    requests = {
        "api list": lambda: client.get("/api/v1/contacts", headers=bearer(token)),
        "page": lambda: client.get(f"/t/{tenant.slug}/contacts"),
        "privacy center": lambda: client.get(f"/p/{tenant.slug}/", follow_redirects=True),
    }
    _quiet(servers)
    own_schema = f"^{tenant.ref.schema_name}$"
    before_a, before_b = _activity(servers[DEFAULT_CELL]), _activity(servers[CELL_B], own_schema)
    response = requests[kind]()
    assert response.status_code == 200
    if kind == "privacy center":
        assert "Russia (Moscow)" in response.text
    _quiet(servers)
    assert _activity(servers[CELL_B], own_schema) > before_b  # the work was done on B
    assert _activity(servers[DEFAULT_CELL]) == before_a  # and no tenant table on A was touched


def test_tenant_of_cell_a_cannot_reach_cell_b(app, app_ctx, servers, make_cell_tenant):
    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "ca"), make_cell_tenant(CELL_B, "cb")
    client = app.test_client()
    token_a, token_b = make_token(tenant_a), make_token(tenant_b)
    secret_contact = _contact(client, token_b, "Secret")
    # Neither role exists on the other cell's server.
    assert not servers[CELL_B].has_role(tenant_a.ref.role_name)
    assert not servers[DEFAULT_CELL].has_role(tenant_b.ref.role_name)
    # A's own credentials do not open B's server, however they are aimed at it.
    settings = tenant_pools().settings
    secret = tenant_login_secret(settings.secret_key, tenant_a.ref.role_name, tenant_a.ref.login_version)
    direct = create_engine(settings.server_url(CELL_B).set(username=tenant_a.ref.role_name, password=secret))
    with pytest.raises(OperationalError):
        direct.connect()
    direct.dispose()
    with pytest.raises(OperationalError):
        tenant_pools().engine_for(replace(tenant_a.ref, cell=CELL_B)).connect()
    with pytest.raises(LookupError):
        tenant_pools().engine_for(replace(tenant_a.ref, cell="nowhere"))
    # Through the product: A's token and A's owner see nothing of B.
    assert client.get(f"/api/v1/contacts/{secret_contact}", headers=bearer(token_a)).status_code == 404
    listed = client.get("/api/v1/contacts?limit=100", headers=bearer(token_a)).get_json()["data"]
    assert secret_contact not in {contact["id"] for contact in listed}
    login(client, tenant_a.email, tenant_a.password)
    assert client.get(f"/t/{tenant_b.slug}/contacts").status_code == 404


def test_tenants_migrate_walks_every_cell_and_repairs_logins_in_each(app, app_ctx, servers, make_cell_tenant):
    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "ma"), make_cell_tenant(CELL_B, "mb")
    with servers[CELL_B].engine.begin() as connection:  # a role made before tenants logged in
        connection.exec_driver_sql(f'ALTER ROLE "{tenant_b.ref.role_name}" NOLOGIN')
    assert repair_tenant_logins([tenant_a.ref, tenant_b.ref]) == [tenant_b.slug]
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["tenants", "migrate", "--jobs", "2", "--slug", tenant_a.slug, "--slug", tenant_b.slug]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])["summary"]
    assert summary["tenants"] == 2 and summary["failed_tenants"] == [] and summary["current"] == 2
    # The repaired role logs in (it exists on B only, so this connection is B's).
    with tenant_pools().engine_for(tenant_b.ref).connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar() == tenant_b.ref.role_name


def test_purging_a_cell_b_tenant_drops_its_role_and_schema_on_cell_b(app_ctx, servers, make_cell_tenant):
    from saas.tenants.provisioning import purge_tenant

    tenant = make_cell_tenant(CELL_B, "pb")
    assert servers[CELL_B].has_schema(tenant.ref.schema_name)
    purge_tenant(tenant.tenant.id, actor="test")
    assert not servers[CELL_B].has_role(tenant.ref.role_name)
    assert not servers[CELL_B].has_schema(tenant.ref.schema_name)


def test_ready_schema_pool_is_kept_per_cell_and_a_signup_claims_one_of_its_own_cell(
    app, app_ctx, servers, make_cell_tenant, monkeypatch
):
    from saas.tenants import pool
    from saas.tenants.models import ReadySchema

    pool.drain_pool()
    settings = replace(app.config["SAAS_SETTINGS"], ready_schema_pool_size=1)
    monkeypatch.setitem(app.config, "SAAS_SETTINGS", settings)
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # no refill job after the claim: counted below
    assert pool.refill_pool() == {"built": 2, "dropped": 0}
    ready = {row.cell: row.id for row in db.session.scalars(select(ReadySchema))}
    db.session.rollback()
    assert set(ready) == {DEFAULT_CELL, CELL_B}
    for cell, ready_id in ready.items():
        assert servers[cell].has_schema(f"t_{ready_id}") and not servers[OTHER[cell]].has_schema(
            f"t_{ready_id}"
        )
    tenant = make_cell_tenant(CELL_B, "rb")
    assert tenant.tenant.id == ready[CELL_B] and tenant.tenant.cell == CELL_B
    assert db.session.scalar(select(ReadySchema.cell)) == DEFAULT_CELL  # the other cell's is still there
    assert pool.drain_pool() == 1
    assert not servers[DEFAULT_CELL].has_schema(f"t_{ready[DEFAULT_CELL]}")
    assert servers[CELL_B].has_schema(tenant.ref.schema_name)


def test_tenants_are_listed_by_cell_for_commands_that_walk_every_cell(app_ctx, make_cell_tenant):
    from saas.tenants.models import tenant_refs_by_cell

    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "la"), make_cell_tenant(CELL_B, "lb")
    groups = tenant_refs_by_cell(db.session, [tenant_a.slug, tenant_b.slug])
    assert groups == {DEFAULT_CELL: [tenant_a.ref], CELL_B: [tenant_b.ref]}


def test_a_cached_api_credential_follows_its_tenant_to_another_cell(app, app_ctx, make_cell_tenant):
    tenant = make_cell_tenant(DEFAULT_CELL, "cc")
    client, headers = app.test_client(), bearer(make_token(tenant))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200  # the principal is cached
    row = db.session.get(Tenant, tenant.tenant.id)
    row.cell = CELL_B  # as a move's directory switch will (its role is not on b: the login must fail)
    db.session.commit()
    try:
        try:
            status = client.get("/api/v1/contacts", headers=headers).status_code
        except OperationalError:
            status = 500
        assert status >= 500
    finally:
        row.cell = DEFAULT_CELL
        db.session.commit()
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200


def test_the_cli_creates_a_tenant_in_the_cell_named_and_refuses_an_undeclared_one(app, app_ctx, servers):
    runner = app.test_cli_runner()

    def create(name: str, cell: str):
        owner = ["--admin-email", f"{name}@example.com", "--admin-password", "correct-horse-battery"]
        return runner.invoke(
            args=["tenants", "create", "--slug", name, "--name", "Cli Co", *owner, "--cell", cell]
        )

    made = create(f"cli-{uuid.uuid4().hex[:8]}", CELL_B)
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["cell"] == CELL_B and servers[CELL_B].has_schema(created["schema"])
    assert not servers[DEFAULT_CELL].has_schema(created["schema"])
    refused = create(f"cli-{uuid.uuid4().hex[:8]}", "mars")
    assert refused.exit_code == 2 and "Unknown region" in refused.output


def test_job_fan_out_hands_each_tenant_its_cell_from_the_directory(app_ctx, make_cell_tenant):
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "fa"), make_cell_tenant(CELL_B, "fb")

    def work(ref):
        with tenant_session(ref) as session:  # logs in to the ref's cell: only there does the role exist
            return ref.cell, session.execute(text("SELECT current_user")).scalar()

    report = for_each_tenant("cells.test", work, tenant_ids=[tenant_a.tenant.id, tenant_b.tenant.id])
    assert report.results == {
        tenant_a.tenant.id: (DEFAULT_CELL, tenant_a.ref.role_name),
        tenant_b.tenant.id: (CELL_B, tenant_b.ref.role_name),
    }
