"""A CSV import whose worker is killed (SIGKILL) mid-job, or whose queue entry is lost with Redis, is found
stalled and resumed from its last committed batch: every row imported exactly once, nothing lost."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import func, select, text

from saas.db import db, tenant_session
from saas.jobs import make_worker, queue
from saas.modules.core import imports
from saas.modules.core.models import Contact, ImportJob
from tests.conftest import bearer, make_token
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for

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


def test_an_import_whose_worker_was_killed_resumes_and_imports_every_row_once(app, client, tenant_a):
    job_id = _queued_import(tenant_a)
    # The kill point: the test holds the lock each batch takes, so the worker stops right after it has
    # marked the import running, inside its first batch.
    with db.engine.connect() as holder:
        key = f"{tenant_a.tenant.id}:import:contacts"
        holder.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": key})
        worker = start_worker(app)
        try:
            wait_for(lambda: _job(tenant_a, job_id).status == "running", "the worker to start the import")
        finally:
            kill_with_its_horse(worker)
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

    wait_for(resumed, "the stalled import to be resumed")
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
