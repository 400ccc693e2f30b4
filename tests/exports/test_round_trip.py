"""The exit promise: export -> import -> export gives back the same data files, byte for byte."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from sqlalchemy import text

from saas.db import db
from saas.errors import ValidationError
from saas.exports.services import export_tenant_to_file, import_tenant
from saas.migrations import head_revision
from saas.tenants.migrations import migrate_tenant
from tests.conftest import PASSWORD
from tests.exports.fixtures import FILE_BLOB, LARGE, empty_tables, fill_every_table

# Files on records travel with their content: every round trip reads and writes their objects in S3.
pytestmark = pytest.mark.usefixtures("s3")


def _export(fixture_or_tenant, path) -> dict:
    tenant = getattr(fixture_or_tenant, "tenant", fixture_or_tenant)
    with open(path, "wb") as target:
        return export_tenant_to_file(tenant, target)


def _import(path, prefix="imp"):
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return import_tenant(
        str(path),
        slug=slug,
        name="Imported",
        admin_email=f"{slug}@example.com",
        admin_password=PASSWORD,
        actor="test",
    )


def _data_files(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith("data/")}


def _schema_count() -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")).scalar()


def test_round_trip_gives_identical_data_files(tenant_a, tmp_path):
    fill_every_table(tenant_a)
    assert empty_tables(tenant_a) == [], "every table must hold data for the round trip to prove anything"
    first = _export(tenant_a, tmp_path / "a.zip")

    result = _import(tmp_path / "a.zip")
    assert result.rows == {name: table["rows"] for name, table in first["tables"].items()}
    second = _export(result.tenant, tmp_path / "b.zip")

    assert _data_files(tmp_path / "a.zip") == _data_files(tmp_path / "b.zip")
    identifying = {"created_at", "tenant"}
    assert _without_configuration(first, identifying) == _without_configuration(second, identifying)
    assert second["tenant"]["id"] == result.tenant.id != tenant_a.tenant.id
    assert _stored_files(result.tenant) == [FILE_BLOB]


def _without_configuration(manifest: dict, identifying: set[str]) -> dict:
    """The manifest but for the source's identity and its configuration files, which an import changes
    as documented (members become invitations; tests/exports/test_configuration.py)."""
    kept = {k: v for k, v in manifest.items() if k not in identifying}
    kept["files"] = {name: v for name, v in manifest["files"].items() if not name.startswith("config/")}
    return kept


def _stored_files(tenant) -> list[bytes]:
    """The content of every file the tenant holds, read back from its own storage prefix."""
    from saas.db import tenant_session
    from saas.modules.files.models import StoredFile
    from saas.modules.files.services import file_chunks

    with tenant_session(tenant.ref) as session:
        return [b"".join(file_chunks(session, f)) for f in session.query(StoredFile).order_by(StoredFile.id)]


def test_archive_documents_itself(tenant_a, tmp_path):
    fill_every_table(tenant_a)
    manifest = _export(tenant_a, tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = set(archive.namelist())
        readme = archive.read("README.md").decode()
        contacts_csv = archive.read("data/contacts.csv").decode()
        accounts_jsonl = [json.loads(line) for line in archive.read("data/accounts.jsonl").splitlines()]
    assert {"manifest.json", "README.md", "data/contacts.csv", "data/contacts.jsonl"} <= names
    assert "RFC 4180" in readme and "SHA-256" in readme
    assert manifest["schema_version"] == head_revision("tenant")
    contacts = manifest["tables"]["contacts"]
    assert contacts["primary_key"] == ["id"]
    assert {
        "columns": ["account_id"],
        "references": "accounts",
        "referenced_columns": ["id"],
        "on_delete": "SET NULL",
    } in contacts["foreign_keys"]
    assert any(c["name"] == "sort_name" and "generated" in c for c in contacts["columns"])
    assert contacts_csv.splitlines()[0].startswith("id,first_name,last_name,email")
    assert "sort_name" not in contacts_csv.splitlines()[0]
    assert any(row["notes"] == LARGE for row in accounts_jsonl)
    assert any(row["domain"] is None for row in accounts_jsonl)


def _rewrite(source, target, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda name, data: data.replace(b"Nulls", b"Nulle") if name == "data/contacts.csv" else data,
            "data/contacts.csv",
        ),
        (lambda name, data: None if name == "data/deals.jsonl" else data, "data/deals.jsonl"),
        (lambda name, data: data + b"extra" if name == "README.md" else data, "README.md"),
    ],
)
def test_corrupted_archive_is_refused_naming_the_file_and_creates_nothing(tenant_a, tmp_path, change, named):
    fill_every_table(tenant_a)
    _export(tenant_a, tmp_path / "a.zip")
    _rewrite(tmp_path / "a.zip", tmp_path / "bad.zip", change)
    before = _schema_count()
    with pytest.raises(ValidationError) as caught:
        _import(tmp_path / "bad.zip")
    assert named in caught.value.detail
    assert _schema_count() == before


def test_truncated_archive_is_refused(tenant_a, tmp_path):
    _export(tenant_a, tmp_path / "a.zip")
    data = (tmp_path / "a.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    before = _schema_count()
    with pytest.raises(ValidationError):
        _import(tmp_path / "cut.zip")
    assert _schema_count() == before


def test_unsafe_paths_unknown_versions_and_extra_files_are_refused(tenant_a, tmp_path):
    _export(tenant_a, tmp_path / "a.zip")

    def manifest_with(**changes):
        def change(name, data):
            if name != "manifest.json":
                return data
            return json.dumps({**json.loads(data), **changes}).encode()

        return change

    cases = {
        "version.zip": manifest_with(format_version=99),
        "schema.zip": manifest_with(schema_version="t9999"),
    }
    for name, change in cases.items():
        _rewrite(tmp_path / "a.zip", tmp_path / name, change)
    with zipfile.ZipFile(tmp_path / "a.zip") as old, zipfile.ZipFile(tmp_path / "slip.zip", "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        new.writestr("../../evil.sh", b"rm -rf /")
    before = _schema_count()
    for name, expected in (
        ("version.zip", "format version"),
        ("schema.zip", "t9999"),
        ("slip.zip", "Unsafe path"),
    ):
        with pytest.raises(ValidationError) as caught:
            _import(tmp_path / name)
        assert expected in caught.value.detail
    assert _schema_count() == before


def test_archive_from_an_older_schema_loads_at_its_version_then_upgrades(make_tenant, tmp_path):
    old = make_tenant("older")
    from saas.db import tenant_session
    from saas.modules.core import services

    with tenant_session(old.ref) as session:
        services.contacts.create(
            session, {"first_name": "Old", "last_name": "Timer", "email": "old@example.com"}
        )
    assert migrate_tenant(old.ref, target="t0002").status == "upgraded"
    manifest = _export(old, tmp_path / "old.zip")
    assert manifest["schema_version"] == "t0002" and "deals" not in manifest["tables"]

    result = _import(tmp_path / "old.zip")

    assert result.schema_version_in_archive == "t0002"
    assert result.tenant.schema_version == head_revision("tenant")
    with tenant_session(result.tenant.ref) as session:
        assert [c.last_name for c in services.contacts.list(session).data] == ["Timer"]


def test_cli_exports_and_imports(app, tenant_a, tmp_path):
    fill_every_table(tenant_a)
    runner = app.test_cli_runner()
    out = tmp_path / "cli.zip"
    exported = runner.invoke(args=["export", tenant_a.slug, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout.strip().splitlines()[-1])["rows"]["contacts"] == 2
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    imported = runner.invoke(
        args=["import", str(out), "--slug", slug, "--name", "Cli", "--admin-email", f"{slug}@example.com",
              "--admin-password", PASSWORD]
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout.strip().splitlines()[-1])["rows"]["contacts"] == 2
    refused = runner.invoke(
        args=["import", str(out), "--slug", slug, "--name", "Again", "--admin-email", f"{slug}@example.com",
              "--admin-password", PASSWORD]
    )  # fmt: skip
    assert refused.exit_code == 2
    assert not io.StringIO(refused.stdout).read().startswith('{"id"')
