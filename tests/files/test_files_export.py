"""Files in the export archive: their content travels in files/, checksummed, and comes back into the
importing workspace's own storage; an archive with an unsafe or missing file is refused whole."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile

import pytest
from sqlalchemy import text

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.exports.services import export_tenant_to_file, import_tenant
from saas.modules.files.services import attach_file
from tests.conftest import PASSWORD
from tests.files.conftest import add_contact, stored_keys

CONTENT = bytes(range(256)) * 100


def _tenant_with_a_file(fixture) -> str:
    contact = add_contact(fixture)
    with tenant_session(fixture.ref) as session:
        stored = attach_file(session, "contacts", uuid.UUID(contact), io.BytesIO(CONTENT), "all bytes.bin")
        return stored.object_name


def _import(path):
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    return import_tenant(
        str(path), slug=slug, name="Imported", admin_email=f"{slug}@example.com", admin_password=PASSWORD,
        actor="test",
    )  # fmt: skip


def _schemas() -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")).scalar()


def test_a_files_content_travels_in_the_archive_into_the_new_workspaces_storage(tenant_a, tmp_path, storage):
    name = _tenant_with_a_file(tenant_a)
    with open(tmp_path / "a.zip", "wb") as target:
        manifest = export_tenant_to_file(tenant_a.tenant, target)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read(f"files/{name}") == CONTENT
    assert manifest["files"][f"files/{name}"] == {
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "bytes": len(CONTENT),
    }

    imported = _import(tmp_path / "a.zip").tenant

    [key] = stored_keys(storage, imported.id)
    assert key == f"files/{imported.id}/{name}"
    assert storage.get_object(Bucket="exports-test", Key=key)["Body"].read() == CONTENT
    assert stored_keys(storage, tenant_a.tenant.id) == [f"files/{tenant_a.tenant.id}/{name}"]


def _rewrite(source, target, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        entries = {
            info.filename: old.read(info.filename)
            for info in old.infolist()
            if info.filename != "manifest.json"
        }
        change(entries)
        manifest["files"] = {
            path: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for path, data in entries.items()
        }
        for path, data in entries.items():
            new.writestr(path, data)
        new.writestr("manifest.json", json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda entries: entries.update({"files/sub/evil.sh": b"x"}),
            "Unsafe path in archive: files/sub/evil.sh",
        ),
        (lambda entries: entries.update({"files/.hidden.": b"x"}), "Unsafe path"),
        (
            lambda entries: [entries.pop(p) for p in list(entries) if p.startswith("files/")],
            "no stored object",
        ),
    ],
)
def test_an_archive_with_an_unsafe_or_missing_file_is_refused_and_stores_nothing(
    tenant_a, tmp_path, storage, change, reason
):
    _tenant_with_a_file(tenant_a)
    with open(tmp_path / "a.zip", "wb") as target:
        export_tenant_to_file(tenant_a.tenant, target)
    _rewrite(tmp_path / "a.zip", tmp_path / "bad.zip", change)
    before, objects = (
        _schemas(),
        storage.list_objects_v2(Bucket="exports-test", Prefix="files/").get("KeyCount"),
    )

    with pytest.raises(ValidationError) as refused:
        _import(tmp_path / "bad.zip")

    assert reason in refused.value.detail
    assert _schemas() == before
    assert storage.list_objects_v2(Bucket="exports-test", Prefix="files/").get("KeyCount") == objects
