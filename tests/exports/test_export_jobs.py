"""Exports as jobs: S3 (moto server on loopback), presigned links, crashes, schedules, isolation."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.errors import Conflict
from saas.exports import services
from saas.exports.models import Export
from saas.jobs import make_worker
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.exports.fixtures import fill_every_table


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback moto URL
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _run_jobs() -> None:
    make_worker().work(burst=True)


def test_export_job_uploads_an_encrypted_archive_and_link_works_then_expires(app_ctx, s3, tenant_a):
    fill_every_table(tenant_a)
    export = services.start_export(tenant_a.tenant.id, requested_by="test")
    _run_jobs()
    db.session.expire_all()
    done = db.session.get(Export, export.id)
    assert done.status == "done" and done.tables_done == done.tables_total > 0 and done.rows_written > 0
    head = s3.head_object(Bucket="exports-test", Key=done.storage_key)
    assert head["ServerSideEncryption"] == "aws:kms"

    link = services.download_link(tenant_a.tenant.id, export.id, actor="test")
    status, body = _fetch(link)
    assert status == 200 and hashlib.sha256(body).hexdigest() == done.sha256 and len(body) == done.size_bytes
    # The link is signed to expire after 15 minutes. moto does not enforce presigned expiry, so the
    # expiry itself is checked on the signed parameters; real S3 refuses the link afterwards.
    signed = parse_qs(urlsplit(link).query)
    assert signed["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in signed
    tampered = link.replace("X-Amz-Expires=900", "X-Amz-Expires=90000")
    assert tampered != link
    short = services.download_link(tenant_a.tenant.id, export.id, actor="test", expires_in=60)
    assert parse_qs(urlsplit(short).query)["X-Amz-Expires"] == ["60"]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == str(export.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["export.requested", "export.completed", "export.downloaded", "export.downloaded"]


def test_one_export_at_a_time_per_tenant(app_ctx, s3, tenant_a):
    services.start_export(tenant_a.tenant.id, requested_by="test")
    with pytest.raises(Conflict):
        services.start_export(tenant_a.tenant.id, requested_by="test")
    _run_jobs()


def _seed_many_contacts(fixture, count: int) -> None:
    with tenant_session(fixture.ref) as session:
        session.connection().exec_driver_sql(
            "INSERT INTO contacts (id, first_name, last_name, email) "
            "SELECT gen_random_uuid(), 'First ' || i, 'Last ' || i, 'p' || i || '@example.com' "
            f"FROM generate_series(1, {count}) AS i"
        )


def _kill_with_children(pid: int) -> None:
    """SIGKILL the worker and its job process (RQ puts the job in a session of its own)."""
    import psutil

    parent = psutil.Process(pid)
    for process in [*parent.children(recursive=True), parent]:
        process.send_signal(signal.SIGKILL)


def _worker_process(app, s3_endpoint: str) -> subprocess.Popen:
    settings = app.config["SAAS_SETTINGS"]
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "S3_BUCKET": "exports-test",
        "S3_ENDPOINT_URL": s3_endpoint,
        "SAAS_INSTANCE_DIR": str(settings.instance_dir),
    }
    return subprocess.Popen([sys.executable, "-m", "saas.cli", "worker"], env=env, start_new_session=True)


def test_worker_killed_mid_export_publishes_nothing_and_a_new_export_succeeds(
    app, app_ctx, s3, s3_server, tenant_a
):
    _seed_many_contacts(tenant_a, 300_000)
    export = services.start_export(tenant_a.tenant.id, requested_by="test")
    worker = _worker_process(app, s3_server)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.get(Export, export.id).status != "queued":
                break
            time.sleep(0.05)
        _kill_with_children(worker.pid)
    finally:
        worker.wait(timeout=10)
    db.session.expire_all()
    killed = db.session.get(Export, export.id)
    assert killed.status == "running", "the kill must land while the export runs"
    key = f"exports/{tenant_a.tenant.id}/{export.id}.zip"
    assert "Contents" not in s3.list_objects_v2(Bucket="exports-test", Prefix=key)

    # The heartbeat stops; once it is older than the stale limit the export is reported failed.
    app.config["SAAS_SETTINGS"] = dataclasses.replace(app.config["SAAS_SETTINGS"], export_stale_seconds=0)
    time.sleep(0.1)
    assert services.reap_stale_exports(tenant_a.tenant.id) == 1
    db.session.expire_all()
    assert db.session.get(Export, export.id).status == "failed"
    app.config["SAAS_SETTINGS"] = dataclasses.replace(app.config["SAAS_SETTINGS"], export_stale_seconds=600)

    retry = services.start_export(tenant_a.tenant.id, requested_by="test")
    _run_jobs()
    db.session.expire_all()
    assert db.session.get(Export, retry.id).status == "done"
    assert "Contents" not in s3.list_objects_v2(Bucket="exports-test", Prefix=key)


def test_schedule_starts_exports_when_due_and_old_archives_expire(app_ctx, s3, tenant_a):
    services.set_schedule(tenant_a.tenant.id, frequency="daily", keep_days=3, enabled=True, actor="test")
    assert services.run_due_schedules(datetime.now(UTC))["started"] == 0
    assert services.run_due_schedules(datetime.now(UTC) + timedelta(days=1, minutes=1))["started"] == 1
    _run_jobs()
    export = db.session.scalar(select(Export).where(Export.tenant_id == tenant_a.tenant.id))
    db.session.refresh(export)
    assert export.kind == "scheduled" and export.status == "done"
    assert export.expires_at - export.finished_at == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=5)
    )
    assert services.expire_old_exports(datetime.now(UTC) + timedelta(days=4)) == 1
    db.session.refresh(export)
    assert export.status == "expired"
    assert "Contents" not in s3.list_objects_v2(Bucket="exports-test", Prefix=export.storage_key)


def test_bad_schedule_input_is_refused(app_ctx, tenant_a):
    from saas.errors import ValidationError

    for frequency, keep in (("hourly", 3), ("daily", 0), ("weekly", 1000)):
        with pytest.raises(ValidationError):
            services.set_schedule(
                tenant_a.tenant.id, frequency=frequency, keep_days=keep, enabled=True, actor="t"
            )
    assert services.get_schedule(tenant_a.tenant.id) is None


def test_admin_uses_the_export_page(client, s3, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/export")
    assert page.status_code == 200 and "Start a new export" in page.text
    started = client.post(
        f"/t/{tenant_a.slug}/settings/export", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert started.status_code == 302
    _run_jobs()
    listing = client.get(f"/t/{tenant_a.slug}/settings/export")
    export_id = db.session.scalar(select(Export.id).where(Export.tenant_id == tenant_a.tenant.id))
    assert f"/settings/export/{export_id}/download" in listing.text
    download = client.get(f"/t/{tenant_a.slug}/settings/export/{export_id}/download")
    assert download.status_code == 302 and _fetch(download.headers["Location"])[0] == 200


@pytest.fixture
def a_export(app_ctx, s3, tenant_a):
    export = services.start_export(tenant_a.tenant.id, requested_by="test")
    _run_jobs()
    return export.id


def test_tenant_b_cannot_list_start_or_download_tenant_a_exports(client, s3, tenant_a, tenant_b, a_export):
    headers = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/exports/{a_export}", headers=headers).status_code == 404
    assert str(a_export) not in client.get("/api/v1/exports", headers=headers).text
    own = client.get("/api/v1/exports", headers=bearer(make_token(tenant_a))).get_json()["data"]
    assert [row["id"] for row in own] == [str(a_export)]  # the list above is not empty by accident
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_b.slug}/settings/export/{a_export}/download").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/settings/export").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/settings/export/{a_export}/download").status_code == 404
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/settings/export").text)
    assert client.post(f"/t/{tenant_a.slug}/settings/export", data={"csrf_token": token}).status_code == 404
    assert db.session.scalars(select(Export.id).where(Export.tenant_id == tenant_a.tenant.id)).all() == [
        a_export
    ]


def test_members_who_are_not_admins_cannot_export(client, s3, tenant_a, a_export):
    email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, email, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/export").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/settings/export/{a_export}/download").status_code == 403
    from saas.auth.services import create_api_token

    _, secret = create_api_token(db.session, tenant_a.slug, email, "member token")
    db.session.commit()
    response = client.post("/api/v1/exports", headers=bearer(secret))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_api_starts_and_fetches_an_export_with_a_link(client, s3, tenant_a):
    headers = bearer(make_token(tenant_a))
    started = client.post("/api/v1/exports", headers=headers)
    assert started.status_code == 202, started.get_json()
    _run_jobs()
    fetched = client.get(f"/api/v1/exports/{started.get_json()['id']}", headers=headers).get_json()
    assert fetched["status"] == "done" and _fetch(fetched["download_url"])[0] == 200
