"""Jobs, files and exports of a tenant live and run in its cell: queued on the cell's Redis, run by the
cell's workers only, stored in the cell's bucket (checked on the Redis servers and the buckets)."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlsplit

import pytest
from redis import Redis
from sqlalchemy import text

from saas.cells import DEFAULT_CELL
from saas.db import db
from saas.exports.models import Export
from saas.jobs import cell_queue, enqueue_for_tenant, make_worker, queue_name, run_tenant_job
from saas.jobs.schedules import PeriodicJob, hand_on_periodic, run_periodic
from tests.cells.conftest import CELL_B, CELL_B_BUCKET, CellServer
from tests.conftest import bearer, make_token
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback
from tests.files.conftest import PDF, Api, add_contact

pytestmark = pytest.mark.usefixtures("leave_no_cell_b_tenants")

WHO_RUNS_ME = "tests.cells.test_cell_jobs_files.who_runs_me"
WALK = "tests.cells.test_cell_jobs_files.walk_every_tenant"
DEFAULT_BUCKET = "exports-test"
YANDEX_CELL = """
[cells.ru]
region = "ru"
label = "Russia"
database_url = "postgresql://saas@pg.ru.internal/saas"
s3_bucket = "crm-ru"
s3_endpoint_url = "https://storage.yandexcloud.net"
s3_region = "ru-central1"
"""


def who_runs_me(session) -> str:
    """A job body: the role it logged in as (a tenant's role exists on its own cell's server only)."""
    return session.execute(text("SELECT current_user")).scalar()


def walk_every_tenant() -> dict[str, str]:
    """A periodic job body: the cell of every tenant the fan-out visits."""
    from saas.jobs.fanout import for_each_tenant

    return for_each_tenant("cells.walk", lambda ref: ref.cell, needs_schema=False).results


def _redis(server: CellServer) -> Redis:
    return Redis.from_url(server.redis_url)


def _job_is_on(server: CellServer, job_id: str) -> bool:
    return bool(_redis(server).exists(f"rq:job:{job_id}"))


def _waiting_on_b(first_arg: str) -> list:
    """Cell b's queued jobs whose first argument is ``first_arg`` (others' leftovers do not count)."""
    return [job for job in cell_queue(CELL_B).jobs if job.args[:1] == (first_arg,)]


def _keys(s3, bucket: str, prefix: str) -> list[str]:  # noqa: F811 - the fixture imported above
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest.fixture
def cell_b_storage(s3):  # noqa: F811 - the fixture imported above
    """Both cells' buckets on the moto server: the default cell's (``exports-test``) and cell b's."""
    if CELL_B_BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=CELL_B_BUCKET)
    return s3


def test_a_job_of_a_cell_b_tenant_is_queued_on_cell_b_redis_and_run_by_cell_b_workers_only(
    app_ctx, servers, make_cell_tenant
):
    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "ja"), make_cell_tenant(CELL_B, "jb")
    job_a = enqueue_for_tenant(tenant_a.tenant.id, WHO_RUNS_ME)
    job_b = enqueue_for_tenant(tenant_b.tenant.id, WHO_RUNS_ME)
    assert _job_is_on(servers[DEFAULT_CELL], job_a.id) and not _job_is_on(servers[CELL_B], job_a.id)
    assert _job_is_on(servers[CELL_B], job_b.id) and not _job_is_on(servers[DEFAULT_CELL], job_b.id)
    assert job_b.id.encode() in _redis(servers[CELL_B]).lrange(f"rq:queue:{queue_name(CELL_B)}", 0, -1)

    make_worker(DEFAULT_CELL).work(burst=True)
    job_a.refresh()
    job_b.refresh()
    assert job_a.get_status() == "finished" and job_a.return_value() == tenant_a.ref.role_name
    assert job_b.get_status() == "queued"  # cell a's worker never saw it

    make_worker(CELL_B).work(burst=True)
    job_b.refresh()
    assert job_b.get_status() == "finished" and job_b.return_value() == tenant_b.ref.role_name


def test_a_job_left_on_another_cells_queue_is_handed_on_to_its_tenants_cell(app_ctx, make_cell_tenant):
    """As after a move: the job was queued while the tenant lived in cell a; cell a does not run it."""
    tenant_b = make_cell_tenant(CELL_B, "hb")
    stray = cell_queue(DEFAULT_CELL).enqueue(run_tenant_job, tenant_b.tenant.id, WHO_RUNS_ME, job_timeout=77)
    make_worker(DEFAULT_CELL).work(burst=True)
    stray.refresh()
    assert stray.return_value() == {"forwarded": CELL_B}
    handed_on = _waiting_on_b(tenant_b.tenant.id)
    assert [job.args for job in handed_on] == [(tenant_b.tenant.id, WHO_RUNS_ME)]
    assert handed_on[0].timeout == 77
    make_worker(CELL_B).work(burst=True)
    handed_on[0].refresh()
    assert handed_on[0].return_value() == tenant_b.ref.role_name


def test_a_periodic_job_runs_for_each_cells_tenants_on_that_cells_workers(
    app_ctx, servers, make_cell_tenant, monkeypatch
):
    from saas.jobs import schedules

    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "pa"), make_cell_tenant(CELL_B, "pb")
    monkeypatch.setattr(schedules, "PERIODIC_JOBS", [PeriodicJob(WALK, interval=60)])
    on_a = run_periodic(WALK)  # what the default cell's worker runs when the scheduler queues it
    assert on_a[tenant_a.tenant.id] == DEFAULT_CELL and set(on_a.values()) == {DEFAULT_CELL}
    waiting = _waiting_on_b(WALK)
    assert [job.args for job in waiting] == [(WALK, CELL_B)]
    hand_on_periodic(WALK, CELL_B)  # the next minute, while cell b's run still waits: no pile-up
    assert len(_waiting_on_b(WALK)) == 1

    make_worker(CELL_B).work(burst=True)
    waiting[0].refresh()
    on_b = waiting[0].return_value()
    assert on_b[tenant_b.tenant.id] == CELL_B and set(on_b.values()) == {CELL_B}


def test_a_platform_periodic_job_runs_once_on_the_default_cell(app_ctx, make_cell_tenant, monkeypatch):
    from saas.jobs import schedules

    tenant_b = make_cell_tenant(CELL_B, "ob")
    monkeypatch.setattr(schedules, "PERIODIC_JOBS", [PeriodicJob(WALK, interval=60, per_cell=False)])
    assert run_periodic(WALK)[tenant_b.tenant.id] == CELL_B  # it reaches every cell's tenants itself
    assert _waiting_on_b(WALK) == []


def test_a_file_of_a_cell_b_tenant_is_stored_and_read_in_cell_b_bucket_only(
    app, app_ctx, cell_b_storage, make_cell_tenant
):
    tenant_b = make_cell_tenant(CELL_B, "fb")
    api, contact = Api(app.test_client(), tenant_b), add_contact(tenant_b)
    created = api.upload("contacts", contact, PDF)
    assert created.status_code == 201, created.get_json()
    prefix = f"files/{tenant_b.tenant.id}/"
    assert len(_keys(cell_b_storage, CELL_B_BUCKET, prefix)) == 1
    assert _keys(cell_b_storage, DEFAULT_BUCKET, prefix) == []
    link = api.get(f"/api/v1/files/{created.get_json()['id']}/link").get_json()["url"]
    assert api.get(link).data == PDF  # read back from cell b's bucket


def test_a_cell_a_tenant_cannot_read_a_cell_b_tenants_file_by_id_or_link(
    app, app_ctx, cell_b_storage, make_cell_tenant
):
    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "ia"), make_cell_tenant(CELL_B, "ib")
    client = app.test_client()
    b_api, a_api = Api(client, tenant_b), Api(client, tenant_a)
    file_id = b_api.upload("contacts", add_contact(tenant_b), PDF).get_json()["id"]
    link = b_api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]
    answers = [
        a_api.get(f"/api/v1/files/{file_id}"),
        a_api.get(f"/api/v1/files/{file_id}/link"),
        a_api.get(link),  # B's genuine link, with A's credentials
        a_api.delete(f"/api/v1/files/{file_id}"),
    ]
    for response in answers:
        assert response.status_code == 404, response.get_json()
        assert PDF not in response.data
    assert b_api.get(link).data == PDF  # still there


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback moto URL
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_an_export_of_a_cell_b_tenant_runs_on_cell_b_and_its_archive_lands_in_cell_b_bucket_only(
    app, app_ctx, servers, cell_b_storage, make_cell_tenant
):
    tenant_a, tenant_b = make_cell_tenant(DEFAULT_CELL, "ea"), make_cell_tenant(CELL_B, "eb")
    client = app.test_client()
    b_api = Api(client, tenant_b)
    b_api.upload("contacts", add_contact(tenant_b), PDF)
    headers = b_api.headers
    started = client.post("/api/v1/exports", headers=headers)
    assert started.status_code == 202, started.get_json()
    export_id = started.get_json()["id"]
    assert _job_is_on(servers[CELL_B], f"export-{export_id}")
    assert not _job_is_on(servers[DEFAULT_CELL], f"export-{export_id}")

    make_worker(DEFAULT_CELL).work(burst=True)
    assert client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()["status"] == "queued"
    make_worker(CELL_B).work(burst=True)
    db.session.expire_all()
    done = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
    assert done["status"] == "done", done

    key = db.session.get(Export, done["id"]).storage_key
    assert _keys(cell_b_storage, CELL_B_BUCKET, key) == [key]
    assert _keys(cell_b_storage, DEFAULT_BUCKET, f"exports/{tenant_b.tenant.id}/") == []
    assert urlsplit(done["download_url"]).path.startswith(f"/{CELL_B_BUCKET}/")
    status, body = _fetch(done["download_url"])
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(body)) as archive:  # the file came from cell b's bucket too
        assert PDF in [archive.read(name) for name in archive.namelist() if name.startswith("files/")]
    # Isolation: the cell-a tenant's token finds no such export.
    other = client.get(f"/api/v1/exports/{export_id}", headers=bearer(make_token(tenant_a)))
    assert other.status_code == 404


def test_saas_worker_serves_the_cell_named_and_refuses_an_undeclared_one(app, app_ctx, make_cell_tenant):
    tenant_b = make_cell_tenant(CELL_B, "wb")
    job = enqueue_for_tenant(tenant_b.tenant.id, WHO_RUNS_ME)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["worker", "--burst", "--cell", "mars"])
    assert refused.exit_code == 2 and "mars" in refused.output
    served = runner.invoke(args=["worker", "--burst", "--cell", CELL_B])
    assert served.exit_code == 0, served.output
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == tenant_b.ref.role_name


def test_a_cell_with_its_own_s3_endpoint_and_region_gets_links_signed_there(
    app, app_ctx, cell_b_storage, tmp_path, monkeypatch
):
    """A regional provider's bucket (say Yandex Object Storage for a Russian cell): declared in the cells
    file, used for that cell only; a cell without a bucket has no storage rather than another's."""
    from dataclasses import replace

    from saas.cells import read_cells_file
    from saas.exports import storage

    (tmp_path / "cells.toml").write_text(YANDEX_CELL)
    (declared,) = read_cells_file(tmp_path / "cells.toml", environ={})
    assert (declared.s3_endpoint_url, declared.s3_region) == (
        "https://storage.yandexcloud.net",
        "ru-central1",
    )
    directory = app.extensions["cells"]
    b = directory.get(CELL_B)
    monkeypatch.setitem(
        directory.cells, CELL_B, replace(b, s3_endpoint_url=declared.s3_endpoint_url, s3_region="ru-central1")
    )
    link = storage.presigned_download_url("files/t/x", "x.pdf", cell=CELL_B)
    assert link.startswith(f"https://storage.yandexcloud.net/{CELL_B_BUCKET}/files/t/x?")
    assert "ru-central1" in link  # signed for the cell's region (X-Amz-Credential)
    assert "ru-central1" not in storage.presigned_download_url("files/t/x", "x.pdf", cell=DEFAULT_CELL)

    monkeypatch.setitem(directory.cells, CELL_B, replace(b, s3_bucket=None))
    assert not storage.storage_configured(CELL_B)
    with pytest.raises(storage.StorageNotConfigured):
        storage.upload_stream(io.BytesIO(PDF), "files/t/x", "application/pdf", cell=CELL_B)
