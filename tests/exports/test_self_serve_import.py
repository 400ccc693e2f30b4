"""Self-serve imports as jobs: a new workspace at signup, a restore into an empty one; refused archives
write nothing, a workspace with records or a read-only one refuses, and everything is audited."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import uuid
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from saas.audit import AuditEntry
from saas.auth.models import Invitation, Membership, User
from saas.billing.services import open_account
from saas.db import db, tenant_pools, tenant_session
from saas.errors import Conflict, PermissionDenied
from saas.exports import imports
from saas.exports.models import ArchiveImport
from saas.exports.services import export_tenant_to_file
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from saas.tenants.models import Tenant
from tests.exports.fixtures import fill_every_table
from tests.exports.test_configuration import configure_workspace

pytestmark = pytest.mark.usefixtures("s3")


def run_jobs() -> None:
    make_worker().work(burst=True)


def exported(fixture, path) -> str:
    with open(path, "wb") as target:
        export_tenant_to_file(fixture.tenant, target)
    return str(path)


def owner_membership(fixture) -> Membership:
    user = db.session.scalar(select(User).where(User.email == fixture.email))
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == fixture.tenant.id)
    )


def finished(record: ArchiveImport) -> ArchiveImport:
    run_jobs()
    db.session.expire_all()
    return db.session.get(ArchiveImport, record.id)


def restore(fixture, path) -> ArchiveImport:
    with open(path, "rb") as upload:
        return imports.start_restore(fixture.tenant.id, owner_membership(fixture), upload)


def tenant_state(fixture) -> dict[str, int]:
    """Rows per table of the workspace, read on its own login: what a refused archive must not change."""
    with tenant_pools().engine_for(fixture.ref).connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).scalars()
        return {t: connection.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in list(tables)}


def platform_state(tenant_id: str) -> tuple[int, int]:
    invitations = db.session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.tenant_id == tenant_id)
    )
    members = db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.tenant_id == tenant_id)
    )
    return invitations, members


def test_owner_restores_an_archive_into_an_empty_workspace(tenant_a, tenant_b, tmp_path):
    fill_every_table(tenant_a)
    configure_workspace(tenant_a)
    path = exported(tenant_a, tmp_path / "a.zip")

    record = restore(tenant_b, path)
    assert record.status == "queued"
    done = finished(record)

    assert done.status == "done", (done.errors, done.error)
    assert done.tables_done == done.tables_total > 0 and done.rows_loaded > 0
    with tenant_session(tenant_b.ref) as session:
        assert sorted(c.last_name for c in session.scalars(select(Contact))) == sorted(
            _contact_names(tenant_a)
        )
    assert {s["kind"] for s in done.secrets_to_reenter} == {
        "sso_client_secret",
        "api_client",
        "webhook_secrets",
    }
    invited = db.session.scalars(
        select(Invitation.email).where(Invitation.tenant_id == tenant_b.tenant.id)
    ).all()
    assert "invited@example.com" in invited and tenant_a.email in invited  # the source's owner: invited
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.tenant_id == tenant_b.tenant.id, AuditEntry.imported_from.is_(None)
        )
    ).all()
    assert {"archive_import.restore_requested", "tenant.restored", "archive_import.completed"} <= set(actions)
    assert not _upload_left(done)


def _contact_names(fixture) -> list[str]:
    with tenant_session(fixture.ref) as session:
        return [c.last_name for c in session.scalars(select(Contact))]


def _upload_left(record: ArchiveImport) -> bool:
    from saas.cells import DEFAULT_CELL
    from saas.exports import storage

    return storage.archive_exists(record.storage_key, cell=DEFAULT_CELL)  # these tenants are all there


def test_a_workspace_with_records_refuses_a_restore_with_the_reason(tenant_a, tmp_path):
    fill_every_table(tenant_a)
    path = exported(tenant_a, tmp_path / "a.zip")
    with pytest.raises(Conflict) as refused:
        restore(tenant_a, path)
    assert "already holds records" in refused.value.detail and "contacts" in refused.value.detail
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ArchiveImport)
            .where(ArchiveImport.tenant_id == tenant_a.tenant.id)
        )
        == 0
    )


@contextlib.contextmanager
def billing_on(app):
    saved = app.config.get("STRIPE_API_KEY")
    app.config["STRIPE_API_KEY"] = "sk_test_restore"
    try:
        yield
    finally:
        app.config["STRIPE_API_KEY"] = saved


def lapse(fixture) -> None:
    account = open_account(db.session, fixture.tenant.id)
    account.status, account.lapsed_at = "canceled", datetime.now(UTC)
    db.session.commit()


def test_a_read_only_workspace_refuses_a_restore_saying_why(app, tenant_a, tenant_b, tmp_path):
    path = exported(tenant_a, tmp_path / "a.zip")
    lapse(tenant_b)
    with billing_on(app), pytest.raises(PermissionDenied) as refused:
        restore(tenant_b, path)
    assert "read-only" in refused.value.detail
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ArchiveImport)
            .where(ArchiveImport.tenant_id == tenant_b.tenant.id)
        )
        == 0
    )


def test_only_an_owner_restores(tenant_a, tenant_b, tmp_path):
    path = exported(tenant_a, tmp_path / "a.zip")
    membership = owner_membership(tenant_b)
    with pytest.raises(PermissionDenied), open(path, "rb") as upload:
        imports.start_restore(tenant_a.tenant.id, membership, upload)  # an owner of another workspace
    membership.role = "admin"
    with pytest.raises(PermissionDenied), open(path, "rb") as upload:
        imports.start_restore(tenant_b.tenant.id, membership, upload)
    db.session.rollback()


def _rewrite(source: str, target, change) -> str:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)
    return str(target)


def _tamper_checksum(name, data):
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["files"]["data/contacts.csv"]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    manifest["files"]["data/accounts.jsonl"]["sha256"] = "0" * 64
    return json.dumps(manifest).encode()


def _bad_manifest(name, data):
    return b'{"format_version": 2, "files": [], "tables": 3}' if name == "manifest.json" else data


@contextlib.contextmanager
def _entry_limit(app, max_bytes: int):
    original = app.config["SAAS_SETTINGS"]
    app.config["SAAS_SETTINGS"] = dataclasses.replace(original, import_max_bytes=max_bytes)
    try:
        yield
    finally:
        app.config["SAAS_SETTINGS"] = original


@pytest.mark.parametrize(
    "case", ["tampered checksum", "oversized entry", "bad manifest", "bad configuration"]
)
def test_a_refused_archive_writes_nothing_and_names_each_file(app, tenant_a, tenant_b, tmp_path, case):
    fill_every_table(tenant_a)
    configure_workspace(tenant_a)
    path = exported(tenant_a, tmp_path / "a.zip")
    limit = contextlib.nullcontext()
    if case == "tampered checksum":
        path = _rewrite(path, tmp_path / "bad.zip", _tamper_checksum)
        expected = {"data/contacts.csv", "data/accounts.jsonl"}
    elif case == "oversized entry":
        limit = _entry_limit(app, 1_000_000)  # the archive's accounts alone unpack to more
        expected = {"archive"}
    elif case == "bad manifest":
        path = _rewrite(path, tmp_path / "bad.zip", _bad_manifest)
        expected = {"manifest.json"}
    else:

        def bad_role(name, data):
            if name != "config/workspace.json":
                return data
            config = json.loads(data)
            config["members"][0]["role"] = "emperor"
            return json.dumps(config).encode()

        path = _refresh_checksums(_rewrite(path, tmp_path / "bad.zip", bad_role))
        expected = {"config/workspace.json members[0]"}
    before = tenant_state(tenant_b), platform_state(tenant_b.tenant.id)

    with limit:
        done = finished(restore(tenant_b, path))

    assert done.status == "refused"
    assert set(done.errors) == expected, done.errors
    assert all(reasons and all(isinstance(r, str) for r in reasons) for reasons in done.errors.values())
    assert (tenant_state(tenant_b), platform_state(tenant_b.tenant.id)) == before
    assert db.session.get(Tenant, tenant_b.tenant.id).schema_version == tenant_b.tenant.schema_version
    assert not _upload_left(done)


def _refresh_checksums(path: str) -> str:
    """The archive with its manifest's checksums made to match again: an edit a checksum cannot catch."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(entries["manifest.json"])
    for name, data in entries.items():
        if name != "manifest.json":
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    entries["manifest.json"] = json.dumps(manifest).encode()
    fixed = path + ".fixed.zip"
    with zipfile.ZipFile(fixed, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return fixed


def test_a_new_workspace_is_created_from_an_archive_at_signup(tenant_a, tmp_path):
    fill_every_table(tenant_a)
    configure_workspace(tenant_a)
    path = exported(tenant_a, tmp_path / "a.zip")
    newcomer = User(email=f"new-{uuid.uuid4().hex[:6]}@example.com", password_hash="$x$")
    db.session.add(newcomer)
    db.session.commit()
    slug = f"arrive-{uuid.uuid4().hex[:6]}"
    with open(path, "rb") as upload:
        record = imports.start_signup_import(newcomer, slug=slug, name="Arrived", upload=upload)

    done = finished(record)

    assert done.status == "done", (done.errors, done.error)
    tenant = db.session.get(Tenant, done.tenant_id)
    assert tenant.slug == slug and tenant.name == "Arrived"
    members = db.session.scalars(select(Membership).where(Membership.tenant_id == tenant.id)).all()
    assert [(m.user_id, m.role) for m in members] == [(newcomer.id, "owner")]
    with tenant_session(tenant.ref) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == len(_contact_names(tenant_a))
    assert imports.get_own_signup_import(newcomer.id, record.id).id == record.id


def test_another_person_or_workspace_cannot_see_an_import(tenant_a, tenant_b, tmp_path):
    from saas.errors import NotFound

    path = exported(tenant_a, tmp_path / "a.zip")
    record = restore(tenant_b, path)
    with pytest.raises(NotFound):
        imports.get_tenant_import(tenant_a.tenant.id, record.id)
    with pytest.raises(NotFound):
        imports.get_own_signup_import(owner_membership(tenant_a).user_id, record.id)
    assert imports.get_tenant_import(tenant_b.tenant.id, record.id).id == record.id
    assert record not in imports.list_tenant_imports(tenant_a.tenant.id)
    run_jobs()
    db.session.execute(text("SELECT 1"))


def test_a_restore_whose_worker_stopped_is_failed_and_blocks_no_new_one(tenant_a, tenant_b, tmp_path):
    from datetime import timedelta

    path = exported(tenant_a, tmp_path / "a.zip")
    stuck = ArchiveImport(
        kind="restore", tenant_id=tenant_b.tenant.id, requested_by=owner_membership(tenant_b).user_id,
        status="loading", errors={}, secrets_to_reenter=[], tables_total=9, tables_done=3, rows_loaded=7,
        size_bytes=1, heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    db.session.add(stuck)
    db.session.commit()

    shown = imports.get_tenant_import(tenant_b.tenant.id, stuck.id)
    assert (shown.status, shown.error) == ("failed", imports.WORKER_STOPPED)
    assert finished(restore(tenant_b, path)).status == "done"  # not refused as "already under way"
