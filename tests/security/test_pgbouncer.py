"""Production's path: tenant requests through Debian's PgBouncer in transaction mode, each tenant logging in
as its own role, PgBouncer fetching the role's SCRAM verifier with ``auth_query``."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url, text

from saas import create_app
from saas.config import Settings
from saas.db import db
from tests.conftest import bearer, make_token
from tests.security.conftest import superuser_connection

# What an operator runs once per database (docs/operations.md): a function only PgBouncer may call,
# which hands out the verifiers of tenant roles and of no one else.
AUTH_QUERY_SETUP = """
CREATE SCHEMA IF NOT EXISTS pgbouncer;
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename name, passwd text) LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT usename, passwd FROM pg_catalog.pg_shadow
  WHERE usename = p_usename AND usename ~ '^t_[0-9a-f]{12}$'
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgbouncer_auth') THEN
    CREATE ROLE pgbouncer_auth LOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer(app):
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        if os.environ.get("SAAS_REQUIRE_PGBOUNCER"):
            pytest.fail("pgbouncer is not installed (apt-get install pgbouncer)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; CI installs it)")
    auth_password = "pgbouncer-auth-test"
    with app.app_context():
        url = db.engine.url
        with superuser_connection() as su:
            su.execute(AUTH_QUERY_SETUP)
            su.execute(f"ALTER ROLE pgbouncer_auth PASSWORD '{auth_password}'")
    socket_dir = url.query["host"]

    # PgBouncer refuses to run as root; it then runs as the user that owns the embedded server.
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    workdir.chmod(0o755)
    port = _free_port()
    (workdir / "userlist.txt").write_text(f'"pgbouncer_auth" "{auth_password}"\n')
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
{url.database} = host={socket_dir} dbname={url.database} auth_user=pgbouncer_auth

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {workdir}/userlist.txt
auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    for name in ("userlist.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    command = [binary]
    if os.geteuid() == 0:
        owner = pwd.getpwuid(Path(socket_dir).stat().st_uid).pw_name
        command += ["-u", owner]
        shutil.chown(workdir, owner)
    process = subprocess.Popen([*command, str(workdir / "pgbouncer.ini")])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                log = (workdir / "pgbouncer.log").read_text() if (workdir / "pgbouncer.log").exists() else ""
                process.kill()
                pytest.fail(f"pgbouncer did not start: {log[-2000:]}")
            time.sleep(0.05)
    yield f"postgresql://127.0.0.1:{port}/{url.database}"
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def bounced_app(pgbouncer):
    """The same product, its tenant connections sent through PgBouncer (as TENANT_DATABASE_URL does)."""
    settings = replace(
        Settings.from_environment(), tenant_database_url=pgbouncer, tenant_db_prepared_statements=False
    )
    app = create_app(settings)
    app.config.update(TESTING=True, SERVER_NAME=None)
    yield app
    with app.app_context():
        app.extensions["tenant_pools"].dispose()


def test_tenant_requests_run_through_pgbouncer_as_the_tenant_role(pgbouncer, bounced_app, tenant_a, tenant_b):
    token_a, token_b = make_token(tenant_a), make_token(tenant_b)
    client = bounced_app.test_client()
    for number in range(8):  # more transactions than PgBouncer has server connections per tenant
        created = client.post(
            "/api/v1/contacts",
            json={"first_name": f"Ada{number}", "last_name": "L", "email": f"ada{number}@a.example"},
            headers=bearer(token_a),
        )
        assert created.status_code == 201, created.get_json()
    listed = client.get("/api/v1/contacts?limit=100", headers=bearer(token_a)).get_json()["data"]
    assert len(listed) == 8
    assert client.get("/api/v1/contacts", headers=bearer(token_b)).get_json()["data"] == []
    with bounced_app.app_context():
        engine = bounced_app.extensions["tenant_pools"].engine_for(tenant_a.ref)
        assert (engine.url.host, engine.url.port) == ("127.0.0.1", make_url(pgbouncer).port)
        with engine.connect() as connection:
            # PgBouncer logged in to PostgreSQL as the tenant: a role reset stays the tenant.
            connection.execute(text("RESET ROLE"))
            assert connection.execute(text("SELECT current_user")).scalar() == tenant_a.ref.role_name
            with pytest.raises(Exception, match="permission denied"):
                connection.execute(text("SELECT count(*) FROM platform.users"))


def test_pgbouncer_hands_out_no_verifier_but_tenant_roles(pgbouncer, tenant_a):
    """auth_query cannot be used to log in as the platform user or the superuser through PgBouncer."""
    for user in (db.engine.url.username, "postgres", "pgbouncer_auth"):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                pgbouncer.replace("postgresql://", f"postgresql://{user}:wrong@"), connect_timeout=5
            )
