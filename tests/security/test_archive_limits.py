"""Issue 17 (j): an archive's size, file count and compression ratio are limited, and refused from the
ZIP's directory before a single entry is inflated."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
import zipfile

import pytest
from sqlalchemy import text

from saas.db import db
from saas.errors import ValidationError
from saas.exports.services import import_tenant
from tests.conftest import PASSWORD


@pytest.fixture
def limits(app):
    """Set the IMPORT_MAX_* settings for one test."""
    original = app.config["SAAS_SETTINGS"]

    def set_limits(**changes: int) -> None:
        app.config["SAAS_SETTINGS"] = dataclasses.replace(original, **changes)

    yield set_limits
    app.config["SAAS_SETTINGS"] = original


@pytest.fixture
def nothing_inflated(monkeypatch):
    """Fail the test if any entry of any archive is opened for reading (read, hashed or inflated)."""
    open_entry = zipfile.ZipFile.open

    def refuse_to_read(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError(f"{name} was read: the archive should have been refused before")
        return open_entry(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_to_read)


def _archive(path, entries: dict[str, bytes], declared: dict[str, int] | None = None) -> None:
    sizes = {name: (declared or {}).get(name, len(data)) for name, data in entries.items()}
    manifest = {"format_version": 1, "files": {name: {"bytes": size} for name, size in sizes.items()}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in entries.items():
            archive.writestr(name, data)


def _refusal(path) -> ValidationError:
    before = db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")).scalar()
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ValidationError) as refused:
        import_tenant(
            str(path), slug=slug, name="Bomb", admin_email=f"{slug}@example.com", admin_password=PASSWORD,
            actor="test",
        )  # fmt: skip
    after = db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")).scalar()
    assert after == before
    return refused.value


def test_zip_bomb_is_refused_by_its_ratio_before_inflating(app_ctx, tmp_path, nothing_inflated):
    # 64 MiB of zeros deflate to about 64 KiB: a ratio near 1000, as in the review's 548 KB "archive".
    _archive(tmp_path / "bomb.zip", {"data/contacts.csv": bytes(64 * 1024 * 1024)})
    assert os.path.getsize(tmp_path / "bomb.zip") < 200 * 1024
    refused = _refusal(tmp_path / "bomb.zip")
    assert "data/contacts.csv would unpack" in refused.detail and "IMPORT_MAX_RATIO" in refused.detail
    assert "data/contacts.csv" in refused.errors


def test_archive_with_too_many_files_is_refused_before_inflating(app_ctx, tmp_path, limits, nothing_inflated):
    limits(import_max_entries=10)
    _archive(tmp_path / "many.zip", {f"files/{n}.txt": b"x" for n in range(10)})  # and the manifest: 11
    refused = _refusal(tmp_path / "many.zip")
    assert "holds 11 files; at most 10" in refused.detail and "IMPORT_MAX_ENTRIES" in refused.detail


def test_archive_too_large_unpacked_is_refused_before_inflating(app_ctx, tmp_path, limits, nothing_inflated):
    limits(import_max_bytes=100_000)
    _archive(tmp_path / "large.zip", {"data/contacts.csv": os.urandom(150_000)})  # incompressible
    refused = _refusal(tmp_path / "large.zip")
    assert "would unpack to" in refused.detail and "at most 100000" in refused.detail
    assert "IMPORT_MAX_BYTES" in refused.detail


def test_entry_inflating_past_its_declared_size_is_refused(app_ctx, tmp_path):
    """A forged directory that declares less than the entry holds: reading stops at the declared size."""
    data = b"a,b\n" * 100_000
    _archive(tmp_path / "forged.zip", {"data/contacts.csv": data}, declared={"data/contacts.csv": 1000})
    raw = bytearray((tmp_path / "forged.zip").read_bytes())
    declared = len(data).to_bytes(4, "little")
    # The central directory's copy of the size is the last occurrence; zipfile trusts that one.
    at = raw.rindex(declared)
    raw[at : at + 4] = (1000).to_bytes(4, "little")
    (tmp_path / "forged.zip").write_bytes(bytes(raw))
    refused = _refusal(tmp_path / "forged.zip")
    assert refused.detail.startswith("data/contacts.csv cannot be read")
