"""A CSV import whose worker is killed (SIGKILL) mid-job, or whose queue entry is lost with Redis, is found
stalled and resumed from its last committed batch: every row imported exactly once, nothing lost."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import func, select, text

from saas.db import db, tenant_session
from saas.jobs import make_worker, queue
from saas.modules.core import imports
from saas.modules.core.models import Contact, ImportJob
from tests.conftest import bearer, make_token

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2_500


def _content(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["first_name", "last_name", "email"])
    writer.writerows([f"First{i}", f"Last{i}", f"person{i}@example.org"] for i in range(rows))
    return buffer.getvalue().encode()


def _queued_import(tenant) -> uuid.UUID:
    with tenant_session(tenant.ref) as session:
        job = imports.create_import(session, entity="contacts", filename="big.csv", content=_content(ROWS))
        imports.start_import(session, job.id)
        return job.id  # queued in Redis once this commits


def _job(tenant, job_id: uuid.UUID) -> ImportJob:
    with tenant_session(tenant.ref) as session:
        job = session.get(ImportJob, job_id)
        session.expunge(job)
        return job


def _contacts(tenant) -> tuple[int, int]:
    with tenant_session(tenant.ref) as session:
        return session.execute(select(func.count(), func.count(func.distinct(Contact.email)))).one()


def _wait_for(condition, what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit  # a safety net, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _worker(app) -> subprocess.Popen:
    """``saas worker`` in its own process, as production runs it, against the test's services."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
    }
    return subprocess.Popen(
        [sys.executable, "-m", "saas.cli", "worker", "--burst", "--no-scheduler"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _kill_with_its_horse(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and the work horse RQ forked for the job (in a process group of its own), as a
    container's end or a machine's loss does; killing only the parent would leave the horse to finish."""
    processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=30)
    worker.wait()


def test_an_import_whose_worker_was_killed_resumes_and_imports_every_row_once(app, client, tenant_a):
    job_id = _queued_import(tenant_a)
    # The kill point: the test holds the lock each batch takes, so the worker stops right after it has
    # marked the import running, inside its first batch.
    with db.engine.connect() as holder:
        key = f"{tenant_a.tenant.id}:import:contacts"
        holder.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": key})
        worker = _worker(app)
        try:
            _wait_for(lambda: _job(tenant_a, job_id).status == "running", "the worker to start the import")
        finally:
            _kill_with_its_horse(worker)
        holder.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": key})
        holder.commit()

    stuck = _job(tenant_a, job_id)
    assert (stuck.status, stuck.processed_rows) == ("running", 0)
    headers = bearer(make_token(tenant_a))
    # Until it is known stalled, the import is running as far as anyone can tell.
    assert client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()["status"] == "running"
    with tenant_session(tenant_a.ref) as session:
        assert imports.resume_stalled_imports(session) == []  # beat a moment ago: not stalled yet

    # The killed worker's database session ends (rolling its batch back) once it meets the closed socket;
    # until then the job's row is still locked and the sweep passes it by instead of waiting.
    def resumed() -> bool:
        with tenant_session(tenant_a.ref) as session:
            return imports.resume_stalled_imports(session, stalled_after=0) == [job_id]

    _wait_for(resumed, "the stalled import to be resumed")
    make_worker().work(burst=True)

    done = _job(tenant_a, job_id)
    assert (done.status, done.processed_rows, done.imported_rows, done.duplicate_rows) == (
        "done",
        ROWS,
        ROWS,
        0,
    )
    assert _contacts(tenant_a) == (ROWS, ROWS)


def test_an_import_lost_from_the_queue_with_redis_is_found_and_run(app, tenant_a):
    job_id = _queued_import(tenant_a)
    queue("default").empty()  # what a Redis restart without persistence leaves: no job, no trace
    assert _job(tenant_a, job_id).status == "queued"

    with tenant_session(tenant_a.ref) as session:
        assert imports.resume_stalled_imports(session, stalled_after=0) == [job_id]
    make_worker().work(burst=True)

    done = _job(tenant_a, job_id)
    assert (done.status, done.imported_rows) == ("done", ROWS)
    assert _contacts(tenant_a) == (ROWS, ROWS)


def test_a_stalled_import_can_be_started_again_by_hand_and_another_tenant_cannot(
    app, client, tenant_a, tenant_b
):
    job_id = _queued_import(tenant_a)
    queue("default").empty()
    headers = bearer(make_token(tenant_a))
    with tenant_session(tenant_a.ref) as session:
        session.execute(
            ImportJob.__table__.update()
            .where(ImportJob.id == job_id)
            .values(heartbeat_at=func.now() - text("interval '1 hour'"))
        )
    # Another workspace's periodic resume never sees it, nor can its members start it.
    with tenant_session(tenant_b.ref) as session:
        assert imports.resume_stalled_imports(session, stalled_after=0) == []
    other = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/imports/{job_id}", headers=other).status_code == 404

    with tenant_session(tenant_a.ref) as session:
        assert imports.start_import(session, job_id).status == "queued"
    make_worker().work(burst=True)
    assert client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()["status"] == "done"
    assert _contacts(tenant_a) == (ROWS, ROWS)
