"""`saas tenants migrate` killed (SIGKILL) while a tenant's upgrade is half applied: that tenant stays at
its old revision, nothing half-migrated, the others that finished stay upgraded, and the next run
completes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from saas.db import db, tenant_pools
from saas.migrations import head_revision
from saas.tenants.migrations import read_schema_versions
from saas.tenants.models import Tenant
from tests.faults.processes import ROOT, wait_for
from tests.tenants.test_migrations import PREVIOUS, _rewind


def _migrate(app, *slugs: str) -> subprocess.Popen:
    """``saas tenants migrate`` as an operator runs it: its own process, two migrating processes under it."""
    args = [sys.executable, "-m", "saas.cli", "tenants", "migrate", "--jobs", "2"]
    for slug in slugs:
        args += ["--slug", slug]
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
    }
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the command and every process it started, as the loss of its machine would."""
    parent = psutil.Process(process.pid)
    processes = [parent, *parent.children(recursive=True)]
    for each in processes:
        each.kill()
    psutil.wait_procs(processes, timeout=30)
    process.wait()


def _registry(*fixtures) -> dict[str, str | None]:
    db.session.expire_all()
    ids = [fixture.tenant.id for fixture in fixtures]
    return dict(db.session.execute(select(Tenant.id, Tenant.schema_version).where(Tenant.id.in_(ids))).all())


def test_a_migration_killed_halfway_leaves_the_tenant_at_its_old_revision_and_the_rerun_finishes(
    app, make_tenant
):
    done, halfway = make_tenant("kill-done"), make_tenant("kill-halfway")
    for fixture in (done, halfway):
        _rewind(fixture)
    head = head_revision("tenant")
    schema = halfway.tenant.schema_name

    # The kill point: the test holds the halfway tenant's version row, so its upgrade stops after the
    # first revision's DDL ran in its transaction, at the version stamp.
    holder = tenant_pools().engine_for(halfway.ref).connect()
    holder.execute(text(f'SELECT 1 FROM "{schema}".alembic_version FOR UPDATE'))
    migrate = _migrate(app, done.slug, halfway.slug)
    try:

        def stopped_halfway() -> bool:
            waiting = holder.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
            return waiting > 0 and read_schema_versions([done.ref])[done.tenant.id] == head

        wait_for(stopped_halfway, "one tenant upgraded and the other stopped at its version stamp")
    finally:
        _kill_tree(migrate)
        holder.rollback()
        holder.close()

    # Its killed session rolls back once it meets the closed socket; until then it holds the row.
    def killed_session_gone() -> bool:
        with tenant_pools().engine_for(halfway.ref).begin() as connection:
            try:
                connection.execute(text(f'SELECT 1 FROM "{schema}".alembic_version FOR UPDATE NOWAIT'))
            except OperationalError:
                return False
            return True

    wait_for(killed_session_gone, "the killed upgrade to roll back")
    assert read_schema_versions([done.ref, halfway.ref]) == {
        done.tenant.id: head,
        halfway.tenant.id: PREVIOUS,
    }
    # The registry was never told (the command died before recording): it shows both at the old revision,
    # an under-statement the next run corrects, never a tenant claimed upgraded that is not.
    assert _registry(done, halfway) == {done.tenant.id: PREVIOUS, halfway.tenant.id: PREVIOUS}

    rerun = _migrate(app, done.slug, halfway.slug)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    statuses = {line["slug"]: line["status"] for line in lines if "slug" in line}
    assert statuses == {done.slug: "current", halfway.slug: "upgraded"}
    versions = read_schema_versions([done.ref, halfway.ref])
    assert versions == {done.tenant.id: head, halfway.tenant.id: head}
    assert _registry(done, halfway) == versions
