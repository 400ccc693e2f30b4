"""Exports that die: a worker killed while writing, or a queue entry lost with Redis. The reaper marks
them failed with the reason that fits and removes their half-written archives (scratch files and
unfinished S3 multipart uploads), and touches nothing of another tenant's or of a running export."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from saas.db import db
from saas.exports import services
from saas.exports.models import Export
from saas.jobs import make_worker, queue
from tests.exports.test_export_jobs import _kill_with_children, _seed_many_contacts, _worker_process

BUCKET = "exports-test"


def _partials(app, export_id) -> list[Path]:
    scratch = app.config["SAAS_SETTINGS"].instance_dir / "exports"
    return sorted(scratch.glob(f"{export_id}-*{services.PARTIAL_SUFFIX}"))


def _uploads(s3, key: str) -> list[str]:
    listing = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


def _stale_now(app) -> None:
    app.config["SAAS_SETTINGS"] = dataclasses.replace(app.config["SAAS_SETTINGS"], export_stale_seconds=0)
    time.sleep(0.05)  # strictly after the last heartbeat


def _fresh_again(app) -> None:
    app.config["SAAS_SETTINGS"] = dataclasses.replace(app.config["SAAS_SETTINGS"], export_stale_seconds=600)


def _export(export_id) -> Export:
    db.session.expire_all()
    return db.session.get(Export, export_id)


def _running_export_of(app, s3, fixture) -> tuple[Export, Path, str]:
    """Another tenant's export in the middle of its upload: a running row with a fresh heartbeat, its
    scratch file and its begun multipart upload, the state a live worker holds."""
    now = datetime.now(UTC)
    export = Export(
        tenant_id=fixture.tenant.id,
        requested_by="test",
        status="running",
        started_at=now,
        heartbeat_at=now,
    )
    db.session.add(export)
    db.session.commit()
    scratch = app.config["SAAS_SETTINGS"].instance_dir / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    partial = scratch / f"{export.id}-live{services.PARTIAL_SUFFIX}"
    partial.write_bytes(b"PK half an archive")
    key = f"exports/{fixture.tenant.id}/{export.id}.zip"
    s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    return export, partial, key


def test_worker_killed_while_writing_leaves_no_partial_and_says_so(
    app, app_ctx, s3, s3_server, tenant_a, tenant_b
):
    other, other_partial, other_key = _running_export_of(app, s3, tenant_b)
    _seed_many_contacts(tenant_a, 300_000)
    export = services.start_export(tenant_a.tenant.id, requested_by="test")
    worker = _worker_process(app, s3_server)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _partials(app, export.id):
            time.sleep(0.05)
        _kill_with_children(worker.pid)
    finally:
        worker.wait(timeout=10)
    assert _export(export.id).status == "running", "the kill must land while the export writes"
    assert _partials(app, export.id), "the killed worker left its scratch file"
    # A kill during the upload of a large archive leaves an unfinished multipart upload under the key.
    key = f"exports/{tenant_a.tenant.id}/{export.id}.zip"
    s3.create_multipart_upload(Bucket=BUCKET, Key=key)

    _stale_now(app)
    try:
        # Tenant B's export is stale too by now, but tenant A's reaper must not look at it.
        assert services.reap_stale_exports(tenant_a.tenant.id) == 1
    finally:
        _fresh_again(app)
    failed = _export(export.id)
    assert (failed.status, failed.error) == ("failed", services.WORKER_STOPPED)
    assert _partials(app, export.id) == []
    assert _uploads(s3, key) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key)

    # Isolation: tenant B's running export keeps its row, its scratch file and its upload.
    assert _export(other.id).status == "running" and _export(other.id).error is None
    assert other_partial.exists() and _uploads(s3, other_key) == [other_key]


def test_export_lost_from_the_queue_with_redis_says_it_never_started(app, app_ctx, s3, tenant_a, tenant_b):
    other = services.start_export(tenant_b.tenant.id, requested_by="test")
    export = services.start_export(tenant_a.tenant.id, requested_by="test")
    queue().empty()  # what a Redis restart without persistence leaves: no job, no trace
    _stale_now(app)
    try:
        assert services.reap_stale_exports(tenant_a.tenant.id) == 1
    finally:
        _fresh_again(app)
    failed = _export(export.id)
    assert (failed.status, failed.error) == ("failed", services.NEVER_STARTED)
    assert _export(other.id).status == "queued", "another tenant's export is not reaped"

    retry = services.start_export(tenant_a.tenant.id, requested_by="test")
    make_worker().work(burst=True)
    assert _export(retry.id).status == "done"


def test_a_new_export_removes_the_tenants_old_partials_but_not_others(app, app_ctx, s3, tenant_a, tenant_b):
    """Partials of exports that already failed (e.g. reaped on another instance, whose own scratch
    directory it could not reach) are removed when the tenant starts its next export."""
    scratch = app.config["SAAS_SETTINGS"].instance_dir / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    leftovers = {}
    for fixture in (tenant_a, tenant_b):
        dead = Export(tenant_id=fixture.tenant.id, requested_by="test", status="failed", error="killed")
        db.session.add(dead)
        db.session.commit()
        partial = scratch / f"{dead.id}-old{services.PARTIAL_SUFFIX}"
        partial.write_bytes(b"PK")
        key = f"exports/{fixture.tenant.id}/{dead.id}.zip"
        s3.create_multipart_upload(Bucket=BUCKET, Key=key)
        leftovers[fixture.tenant.id] = (partial, key)
    running, running_partial, running_key = _running_export_of(app, s3, tenant_b)

    services.start_export(tenant_a.tenant.id, requested_by="test")
    a_partial, a_key = leftovers[tenant_a.tenant.id]
    assert not a_partial.exists() and _uploads(s3, a_key) == []
    b_partial, b_key = leftovers[tenant_b.tenant.id]
    assert b_partial.exists() and _uploads(s3, b_key) == [b_key], "tenant B's leftovers are B's to clear"

    # The periodic reaper (all tenants) clears B's dead partial, never B's running export's.
    services.reap_stale_exports()
    assert not b_partial.exists() and _uploads(s3, b_key) == []
    assert running_partial.exists() and _uploads(s3, running_key) == [running_key]
    assert _export(running.id).status == "running"
    make_worker().work(burst=True)


@pytest.fixture(autouse=True)
def _no_leftover_uploads(s3):
    """moto's bucket lives for the session: abort what a test began so the next starts clean."""
    yield
    for upload in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
