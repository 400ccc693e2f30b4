"""An erasure whose worker is killed (SIGKILL) halfway leaves the person untouched and the request open,
never half-erased nor reported done; queued again, it completes once, even when queued twice."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from saas.db import tenant_pools, tenant_session
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from saas.modules.privacy import erasure
from saas.modules.privacy.models import PrivacyRequest, SuppressedEmail
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for
from tests.privacy.test_erasure import EMAIL, NAME, PHONE, _person_everywhere, _tables_holding


def _queue_erasure(fixture, request_id: uuid.UUID) -> None:
    with tenant_session(fixture.ref) as session:
        erasure.start_erasure(session, request_id, "user:x")
    erasure.enqueue_erasure(fixture.tenant.id, request_id)  # after the commit, as the page does


def _request(fixture, request_id: uuid.UUID) -> tuple[str, list[str], dict | None]:
    with tenant_session(fixture.ref) as session:
        request = session.get(PrivacyRequest, request_id)
        return request.status, [step.action for step in request.trail], request.report


def _suppressed(fixture) -> int:
    with tenant_session(fixture.ref) as session:
        return len(session.scalars(select(SuppressedEmail)).all())


class _ContactHeld:
    """Holds the person's contact row locked (as the tenant's own role): an erasure stops at it, the
    contact going last, after every other module's hook has run inside its transaction."""

    def __init__(self, fixture, contact_id: uuid.UUID) -> None:
        self.connection = tenant_pools().engine_for(fixture.ref).connect()
        schema = fixture.tenant.schema_name
        self.connection.execute(
            text(f'SELECT 1 FROM "{schema}".contacts WHERE id = :id FOR UPDATE'), {"id": contact_id}
        )

    def waiters(self) -> int:
        return self.connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def _contact_of(fixture, request_id: uuid.UUID) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return session.get(PrivacyRequest, request_id).contact_id


def test_an_erasure_killed_halfway_leaves_the_person_whole_and_completes_when_queued_again(app, tenant_a):
    request_id, other_id = _person_everywhere(tenant_a)
    before = sorted(_tables_holding(tenant_a, EMAIL))
    _queue_erasure(tenant_a, request_id)
    held = _ContactHeld(tenant_a, _contact_of(tenant_a, request_id))
    worker = start_worker(app)
    try:
        wait_for(lambda: held.waiters() > 0, "the erasure to reach the person's contact row")
    finally:
        kill_with_its_horse(worker)
        held.release()

    # The killed job's transaction is rolled back with its connection: the person is all there, no
    # suppression entry was kept, and the request is still open, not reported done.
    def rolled_back() -> bool:
        return sorted(_tables_holding(tenant_a, EMAIL)) == before

    wait_for(rolled_back, "the killed erasure's transaction to roll back")
    assert _tables_holding(tenant_a, PHONE) != []
    assert _suppressed(tenant_a) == 0
    status, trail, report = _request(tenant_a, request_id)
    assert (status, trail, report) == ("in_progress", ["received", "verified", "erasure_queued"], {})

    # Started again (the admin's "erase" on the in-progress request), it completes, every trace gone.
    _queue_erasure(tenant_a, request_id)
    make_worker().work(burst=True)
    for needle in (EMAIL, NAME, PHONE):
        assert _tables_holding(tenant_a, needle) == [], needle
    status, trail, report = _request(tenant_a, request_id)
    assert status == "completed" and report["contacts"] == 2
    assert trail == ["received", "verified", "erasure_queued", "erasure_queued", "erased"]
    assert _suppressed(tenant_a) == 1
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, other_id) is not None


def test_an_erasure_queued_twice_runs_once_even_when_both_jobs_run_at_the_same_time(app, tenant_a, tenant_b):
    request_id, _ = _person_everywhere(tenant_a)
    _person_everywhere(tenant_b)
    _queue_erasure(tenant_a, request_id)
    _queue_erasure(tenant_a, request_id)  # e.g. started again while the first looked stuck
    # Two workers, one job each: the first stops at the held contact row, the second must wait for it
    # (not erase beside it from the same stale "in progress" request).
    held = _ContactHeld(tenant_a, _contact_of(tenant_a, request_id))
    workers = [start_worker(app), start_worker(app)]
    try:
        wait_for(lambda: held.waiters() >= 2, "both erasure jobs to be under way")
    finally:
        held.release()
        for worker in workers:
            worker.wait(timeout=120)

    status, trail, report = _request(tenant_a, request_id)
    assert status == "completed"
    assert trail == ["received", "verified", "erasure_queued", "erasure_queued", "erased"]
    assert report["contacts"] == 2 and report["leads"] == 1  # the one run's counts, not a rerun's zeros
    assert _tables_holding(tenant_a, EMAIL) == []
    assert _tables_holding(tenant_b, EMAIL) != []  # the other tenant's same person is untouched
