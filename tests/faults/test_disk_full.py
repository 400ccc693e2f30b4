"""The disk fills up while an export writes its archive or while an upload is spooled: a clear failure,
nothing half-written left behind or published as if complete, and the next attempt works once there is
room again.

"Full" is made with ``RLIMIT_FSIZE``: the writing process may grow no file past a few KiB, so its writes
fail (``EFBIG``) exactly as they fail on a full disk (``ENOSPC``), at a chosen size, without a loopback
file system (which would need privileges the suite does not assume)."""

from __future__ import annotations

import io
import os
import resource
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from saas.db import db, tenant_session
from saas.exports import services as exports
from saas.exports.models import Export
from saas.exports.reader import ImportLimits, verify_archive
from saas.exports.services import OUT_OF_SPACE_REASON, PARTIAL_SUFFIX
from saas.modules.files.models import StoredFile
from saas.web.errors import OUT_OF_SPACE_RETRY_AFTER_SECONDS
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback
from tests.exports.test_export_jobs import _seed_many_contacts
from tests.faults.processes import start_worker
from tests.files.conftest import Api, add_contact, stored_keys

BUCKET = "exports-test"
ROOM = 64 * 1024  # bytes a file may reach while the disk is "full"


def _export_worker(app, s3_server, **limits):  # noqa: F811
    return start_worker(
        app,
        S3_BUCKET=BUCKET,
        S3_ENDPOINT_URL=s3_server,
        SAAS_INSTANCE_DIR=str(app.config["SAAS_SETTINGS"].instance_dir),
        **limits,
    )


def _partials(app, export_id) -> list[Path]:
    scratch = app.config["SAAS_SETTINGS"].instance_dir / "exports"
    return sorted(scratch.glob(f"{export_id}-*{PARTIAL_SUFFIX}"))


def _export(export_id) -> Export:
    db.session.expire_all()
    return db.session.get(Export, export_id)


def test_an_export_that_fills_the_disk_fails_saying_so_leaves_nothing_and_the_next_one_works(
    app,
    app_ctx,
    s3,  # noqa: F811
    s3_server,  # noqa: F811
    tenant_a,
    tmp_path,
):
    _seed_many_contacts(tenant_a, 20_000)  # an archive of several hundred KiB
    failing = exports.start_export(tenant_a.tenant.id, requested_by="test")

    worker = _export_worker(app, s3_server, file_size_limit=ROOM)
    assert worker.wait(timeout=300) == 0  # the worker survives its job's failure

    export = _export(failing.id)
    assert export.status == "failed" and export.error == OUT_OF_SPACE_REASON
    assert export.storage_key is None and export.sha256 is None
    assert _partials(app, failing.id) == []  # no half archive left on the scratch disk
    published = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"exports/{tenant_a.tenant.id}/")
    assert published.get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []

    # Space is back: the same tenant's next export is whole and verifies.
    retried = exports.start_export(tenant_a.tenant.id, requested_by="test")
    assert _export_worker(app, s3_server).wait(timeout=300) == 0
    done = _export(retried.id)
    assert done.status == "done", done.error
    archive = tmp_path / "archive.zip"
    s3.download_file(BUCKET, done.storage_key, str(archive))
    settings = app.config["SAAS_SETTINGS"]
    limits = ImportLimits(settings.import_max_bytes, settings.import_max_entries, settings.import_max_ratio)
    verified = verify_archive(str(archive), limits)
    assert verified.manifest["tables"]["contacts"]["rows"] == 20_000


@contextmanager
def disk_full(room: int = ROOM):
    """Within the block no file this process writes may grow past ``room`` bytes. Werkzeug spools an
    upload past 500 KB to a temporary file, so a bigger upload meets the "full disk" while it is read."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (room, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _stored(fixture) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(StoredFile))


@pytest.mark.usefixtures("s3")
def test_an_upload_that_meets_a_full_disk_is_refused_with_503_and_stores_nothing(client, tenant_a, s3):  # noqa: F811
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    content = os.urandom(2 * 1024 * 1024)

    boundary, body = encode_multipart(
        {
            "record_type": "contacts",
            "record_id": contact,
            "file": FileStorage(io.BytesIO(content), "scan.pdf"),
        }
    )  # in memory: the test client's own encoder would spool to disk too
    with disk_full():
        refused = client.post(
            "/api/v1/files",
            data=body,
            headers=api.headers,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.mimetype == "application/problem+json"
    assert "no room" in refused.get_json()["detail"]
    assert refused.headers["Retry-After"] == str(OUT_OF_SPACE_RETRY_AFTER_SECONDS)
    assert _stored(tenant_a) == 0 and stored_keys(s3, tenant_a.tenant.id) == []

    accepted = api.upload("contacts", contact, content, name="scan.pdf")
    assert accepted.status_code == 201, accepted.get_json()
    assert _stored(tenant_a) == 1


@pytest.mark.usefixtures("s3")
def test_a_page_upload_that_meets_a_full_disk_shows_a_page_that_says_why(client, tenant_a, s3):  # noqa: F811
    from tests.conftest import csrf_token_from, login

    contact = add_contact(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact}")
    token = csrf_token_from(page.get_data(as_text=True))
    data = {
        "csrf_token": token,
        "record_type": "contacts",
        "record_id": contact,
        "file": FileStorage(io.BytesIO(os.urandom(2 * 1024 * 1024)), "scan.pdf"),
    }

    boundary, body = encode_multipart(data)
    with disk_full():
        refused = client.post(
            f"/t/{tenant_a.slug}/files", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )

    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "no room to store this" in refused.get_data(as_text=True)
    assert _stored(tenant_a) == 0 and stored_keys(s3, tenant_a.tenant.id) == []
