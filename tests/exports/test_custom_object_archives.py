"""Custom objects in the exit promise: their tables, fields and records go out in the archive and come back
byte for byte; an archive cannot make the import create a table that is no custom object's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.exports.services import import_tenant
from saas.modules.core import custom_fields, objects
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.exports.test_round_trip import _data_files
from tests.security.archives import export, rewrite_with_checksums


def _import(path):
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    return import_tenant(
        str(path), slug=slug, name="Imported", admin_email=f"{slug}@example.com", admin_password=PASSWORD,
        actor="test",
    )  # fmt: skip


@pytest.fixture
def vehicle_archive(tenant_a, tmp_path):
    with tenant_session(tenant_a.ref) as session:
        objects.define_object(session, {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles"})
        custom_fields.define_field(
            session, "co_vehicle", {"key": "km", "label": "Km", "field_type": "number"}
        )
        record = objects.service_for(session, "vehicle").create(session, {"name": "B-XY 123"})
        custom_fields.write_values(session, "co_vehicle", record.id, {"km": "120000"}, creating=True)
    path = tmp_path / "vehicles.zip"
    export(tenant_a, path)
    return path


def test_an_objects_records_come_back_byte_for_byte_and_are_served_again(vehicle_archive, tmp_path):
    files = _data_files(vehicle_archive)
    assert "data/co_vehicle.csv" in files and b"B-XY 123" in files["data/co_vehicle.csv"]
    result = _import(vehicle_archive)
    again = tmp_path / "again.zip"
    export(result, again)
    assert _data_files(again) == files
    with tenant_session(result.tenant.ref) as session:
        page = objects.service_for(session, "vehicle").list(session, q="xy")
        assert [record.name for record in page.data] == ["B-XY 123"]
        assert custom_fields.read_values(session, "co_vehicle", [page.data[0].id])[page.data[0].id] == {
            "km": "120000"
        }


def _tenants() -> int:
    return db.session.query(Tenant).count()


def _vehicle_tables() -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_tables WHERE tablename = 'co_vehicle'")).scalar()


@pytest.mark.parametrize(
    "edit",
    [
        # The definition's key made invalid: the table it names would be no object's.
        {"data/custom_objects.csv": lambda data: data.replace(b",vehicle,", b",Vehicle Key,")},
        # The definition gone, its table still in the archive.
        {"data/custom_objects.csv": lambda data: data.split(b"\n", 1)[0] + b"\n"},
    ],
    ids=["invalid key", "no definition"],
)
def test_an_archive_cannot_bring_a_table_that_is_no_defined_object(vehicle_archive, tmp_path, edit):
    crafted = tmp_path / "crafted.zip"
    rewrite_with_checksums(vehicle_archive, crafted, edit)
    before = _tenants(), _vehicle_tables()
    with pytest.raises(ValidationError) as refused:
        _import(crafted)
    assert "custom_objects" in refused.value.detail or "co_vehicle" in refused.value.detail
    assert (_tenants(), _vehicle_tables()) == before  # no workspace, no table left behind
