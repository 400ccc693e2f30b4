"""A tenant's move carries its S3 objects (files on records, export archives) to the new cell's bucket:
the same bytes by sha256, what changed during the first copy carried by the final one, a failed object
verification fails the move before the switch, and the purge removes the old cell's objects of that
tenant only. Checked on moto's buckets directly."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from saas.cells import DEFAULT_CELL
from saas.db import db
from saas.exports import storage
from saas.tenants.models import Tenant
from saas.tenants.moves.models import SWITCHED, TenantMove
from saas.tenants.moves.service import MoveFailed, move_tenant, purge_finished_moves
from tests.cells.conftest import CELL_B, CELL_B_BUCKET, DEFAULT_BUCKET
from tests.conftest import TenantFixture, bearer, make_token
from tests.files.conftest import PDF, Api, add_contact

pytestmark = pytest.mark.usefixtures("leave_no_old_copies", "leave_no_cell_b_tenants")


@pytest.fixture(scope="module")
def leave_no_old_copies(app, cell_buckets) -> Iterator[None]:
    yield
    with app.app_context():
        far = db.session.scalar(select(db.func.now())) + timedelta(days=3650)
        purge_finished_moves(actor="tests", now=far)


def _contents(s3, bucket: str, tenant_id: str) -> dict[str, str]:
    """The sha256 of each of the tenant's objects in ``bucket``, by key."""
    found = {}
    for prefix in (f"files/{tenant_id}/", f"exports/{tenant_id}/"):
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = hashlib.sha256(body).hexdigest()
    return found


def _put(key: str, content: bytes, cell: str = DEFAULT_CELL) -> None:
    storage.upload_stream(io.BytesIO(content), key, "application/octet-stream", cell=cell)


def _tenant_with_objects(app, make_cell_tenant, prefix: str) -> tuple[TenantFixture, Api, str]:
    """A tenant in the default cell with a file on a contact (through the files API) and an archive."""
    tenant = make_cell_tenant(DEFAULT_CELL, prefix)
    api = Api(app.test_client(), tenant)
    created = api.upload("contacts", add_contact(tenant), PDF)
    assert created.status_code == 201, created.get_json()
    _put(storage.archive_key(tenant.tenant.id, "archive-1"), b"PK archive " * 1000)
    return tenant, api, created.get_json()["id"]


def _writable(app, tenant: TenantFixture) -> int:
    return (
        app.test_client()
        .post("/api/v1/contacts", json={"last_name": "Still"}, headers=bearer(make_token(tenant)))
        .status_code
    )


def _purge_now(tenant_id: str) -> list[dict]:
    db.session.execute(
        text("UPDATE platform.tenant_moves SET purge_after = now() WHERE tenant_id = :t"), {"t": tenant_id}
    )
    db.session.commit()
    return [entry for entry in purge_finished_moves(actor="tests") if entry["tenant_id"] == tenant_id]


def test_a_moved_tenants_files_and_archives_are_in_the_new_bucket_and_the_purge_drops_its_old_ones_only(
    app, app_ctx, cell_buckets, make_cell_tenant
):
    s3 = cell_buckets
    tenant, api, file_id = _tenant_with_objects(app, make_cell_tenant, "of")
    other, _, _ = _tenant_with_objects(app, make_cell_tenant, "oo")
    before = _contents(s3, DEFAULT_BUCKET, tenant.tenant.id)
    assert len(before) == 2

    move = move_tenant(tenant.slug, CELL_B, actor="tests")

    assert move.step == SWITCHED
    assert _contents(s3, CELL_B_BUCKET, tenant.tenant.id) == before  # same keys, same bytes
    assert move.report["objects"]["first_copy"]["objects_copied"] == 2
    assert move.report["objects"]["final_copy"]["objects_copied"] == 0
    assert move.report["objects"]["verified"] == 2
    link = api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]
    assert api.get(link).data == PDF
    assert _contents(s3, CELL_B_BUCKET, other.tenant.id) == {}  # the other tenant's stay home

    other_before = _contents(s3, DEFAULT_BUCKET, other.tenant.id)
    assert [entry["outcome"] for entry in _purge_now(tenant.tenant.id)] == ["dropped"]
    assert _contents(s3, DEFAULT_BUCKET, tenant.tenant.id) == {}
    assert _contents(s3, CELL_B_BUCKET, tenant.tenant.id) == before
    assert _contents(s3, DEFAULT_BUCKET, other.tenant.id) == other_before and len(other_before) == 2
    # Nothing of it is left in cell a's bucket: the download comes from cell b's.
    assert api.get(api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]).data == PDF


def test_objects_changed_added_or_removed_during_the_first_copy_are_carried_by_the_final_copy(
    app, app_ctx, cell_buckets, make_cell_tenant
):
    s3 = cell_buckets
    tenant, _, _ = _tenant_with_objects(app, make_cell_tenant, "oc")
    tenant_id = tenant.tenant.id
    gone = storage.tenant_object_key(tenant_id, "to-remove")
    _put(gone, b"soon gone")
    changed, added = storage.archive_key(tenant_id, "archive-1"), storage.tenant_object_key(tenant_id, "late")

    def write_objects(step: str) -> None:
        if step == "copied":  # after the first copy, before the window
            assert (
                _contents(s3, CELL_B_BUCKET, tenant_id).keys()
                == _contents(s3, DEFAULT_BUCKET, tenant_id).keys()
            )
            _put(changed, b"PK a newer archive")
            _put(added, b"uploaded late")
            storage.delete_object(gone, cell=DEFAULT_CELL)

    move = move_tenant(tenant.slug, CELL_B, actor="tests", on_step=write_objects)

    final = move.report["objects"]["final_copy"]
    assert (final["objects_copied"], final["objects_dropped"], final["objects"]) == (2, 1, 3)
    on_b = _contents(s3, CELL_B_BUCKET, tenant_id)
    assert on_b == _contents(s3, DEFAULT_BUCKET, tenant_id)
    assert on_b[changed] == hashlib.sha256(b"PK a newer archive").hexdigest()
    assert added in on_b and gone not in on_b


@pytest.mark.parametrize("tampering", ["deleted", "overwritten"])
def test_a_failed_object_verification_fails_the_move_before_the_switch_and_the_rerun_completes(
    app, app_ctx, cell_buckets, make_cell_tenant, tampering
):
    s3 = cell_buckets
    tenant, _, _ = _tenant_with_objects(app, make_cell_tenant, "ov")
    key = storage.archive_key(tenant.tenant.id, "archive-1")

    def tamper(step: str) -> None:
        if step == "final_copied":  # the target's object changes behind the mover's back
            if tampering == "deleted":
                storage.delete_object(key, cell=CELL_B)
            else:
                _put(key, b"PK not the same bytes", cell=CELL_B)

    with pytest.raises(MoveFailed, match="still works in its old cell"):
        move_tenant(tenant.slug, CELL_B, actor="tests", on_step=tamper)
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL
    move = db.session.scalar(select(TenantMove).where(TenantMove.tenant_id == tenant.tenant.id))
    assert move.error.startswith("ObjectsMismatch: verification failed")
    assert _writable(app, tenant) == 201

    again = move_tenant(tenant.slug, CELL_B, actor="tests")
    assert again.id == move.id and again.step == SWITCHED and again.attempts == 2
    assert _contents(s3, CELL_B_BUCKET, tenant.tenant.id) == _contents(s3, DEFAULT_BUCKET, tenant.tenant.id)
    assert key in _contents(s3, CELL_B_BUCKET, tenant.tenant.id)


def test_cells_sharing_one_bucket_copy_no_object_and_the_purge_keeps_them(
    app, app_ctx, cell_buckets, make_cell_tenant, monkeypatch
):
    s3 = cell_buckets
    directory = app.extensions["cells"]
    monkeypatch.setitem(directory.cells, CELL_B, replace(directory.get(CELL_B), s3_bucket=DEFAULT_BUCKET))
    tenant, api, file_id = _tenant_with_objects(app, make_cell_tenant, "os")
    before = _contents(s3, DEFAULT_BUCKET, tenant.tenant.id)

    move = move_tenant(tenant.slug, CELL_B, actor="tests")

    assert move.report["objects"]["first_copy"] == {"skipped": "both cells share one bucket"}
    assert _contents(s3, CELL_B_BUCKET, tenant.tenant.id) == {}
    assert [entry["outcome"] for entry in _purge_now(tenant.tenant.id)] == ["dropped"]
    assert _contents(s3, DEFAULT_BUCKET, tenant.tenant.id) == before
    assert api.get(api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]).data == PDF


def test_a_tenant_with_objects_cannot_move_into_a_cell_without_a_bucket(
    app, app_ctx, cell_buckets, make_cell_tenant, monkeypatch
):
    directory = app.extensions["cells"]
    monkeypatch.setitem(directory.cells, CELL_B, replace(directory.get(CELL_B), s3_bucket=None))
    tenant, api, file_id = _tenant_with_objects(app, make_cell_tenant, "on")

    with pytest.raises(MoveFailed, match=f"cell {CELL_B} has no bucket"):
        move_tenant(tenant.slug, CELL_B, actor="tests")

    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL
    assert _writable(app, tenant) == 201
    assert api.get(api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]).data == PDF
    monkeypatch.undo()  # the cell's bucket is declared: the rerun carries the objects
    assert move_tenant(tenant.slug, CELL_B, actor="tests").step == SWITCHED
    assert api.get(api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]).data == PDF
