"""Files in a person's data download and erasure, in contact merges, and in the storage meter."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from saas.billing.models import UsageRecord
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.merge import CONTACT_KIND, merge_records
from saas.modules.files.models import StoredFile
from saas.modules.files.services import attach_file
from saas.modules.files.usage import day_quantity, record_storage_used, sample_storage_used
from saas.modules.privacy.subject import collect_personal_data, data_subject, erase_subject
from saas.modules.service.tickets import tickets
from tests.files.conftest import PDF, add_contact, stored_keys


def _attach(session, record_type, record_id, content=PDF, name="a.pdf", **who):
    return attach_file(session, record_type, uuid.UUID(str(record_id)), io.BytesIO(content), name, **who)


def test_a_persons_files_are_in_their_download_and_go_with_their_erasure(tenant_a, storage):
    person, stranger = add_contact(tenant_a, "p@example.com"), add_contact(tenant_a, "s@example.com")
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", person, name="passport.pdf")
        ticket = tickets.create(session, {"subject": "Help", "requester_contact_id": uuid.UUID(person)})
        _attach(session, "tickets", ticket.id, name="screenshot.pdf")
        other_ticket = tickets.create(
            session, {"subject": "Other", "requester_contact_id": uuid.UUID(stranger)}
        )
        _attach(session, "tickets", other_ticket.id, name="sent-by-person.pdf", contact_id=uuid.UUID(person))
        _attach(session, "contacts", stranger, name="not-theirs.pdf")

    with tenant_session(tenant_a.ref) as session:
        listed = collect_personal_data(session, uuid.UUID(person))["files"]["files"]
    assert sorted(f["name"] for f in listed) == ["passport.pdf", "screenshot.pdf", "sent-by-person.pdf"]
    assert all(f["size_bytes"] == len(PDF) and len(f["sha256"]) == 64 for f in listed)

    with tenant_session(tenant_a.ref) as session:
        report = erase_subject(session, data_subject(session, uuid.UUID(person)))
    assert report["files"] == 3
    with tenant_session(tenant_a.ref) as session:
        assert [f.name for f in session.scalars(select(StoredFile))] == ["not-theirs.pdf"]
        [left] = session.scalars(select(StoredFile.object_name))
    assert stored_keys(storage, tenant_a.tenant.id) == [f"files/{tenant_a.tenant.id}/{left}"]


def test_an_erasure_that_rolls_back_keeps_the_objects(tenant_a, storage):
    person = add_contact(tenant_a, "p@example.com")
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", person)
    with pytest.raises(RuntimeError), tenant_session(tenant_a.ref) as session:
        erase_subject(session, data_subject(session, uuid.UUID(person)))
        raise RuntimeError("the job died before committing")
    assert len(stored_keys(storage, tenant_a.tenant.id)) == 1


def test_merged_contacts_keep_every_file(tenant_a):
    survivor, merged = add_contact(tenant_a, "a@example.com"), add_contact(tenant_a, "b@example.com")
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", merged, name="on-merged.pdf")
        _attach(session, "contacts", survivor, name="sent.pdf", contact_id=uuid.UUID(merged))
    with tenant_session(tenant_a.ref) as session:
        merge_records(session, CONTACT_KIND, uuid.UUID(survivor), uuid.UUID(merged))
    with tenant_session(tenant_a.ref) as session:
        files = session.scalars(select(StoredFile).order_by(StoredFile.name)).all()
    assert [(f.name, str(f.record_id), str(f.uploaded_by_contact_id)) for f in files] == [
        ("on-merged.pdf", survivor, "None"),
        ("sent.pdf", survivor, survivor),
    ]


def test_files_of_a_deleted_record_are_dropped_before_storage_is_metered(tenant_a, storage):
    kept, deleted = add_contact(tenant_a, "k@example.com"), add_contact(tenant_a, "d@example.com")
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", kept, content=b"k" * 100, name="kept.txt")
        _attach(session, "contacts", deleted, content=b"d" * 100, name="gone.txt")
        # A row an old archive brought for a table this workspace does not have.
        session.add(
            StoredFile(
                record_type="co_purged", record_id=uuid.uuid4(), name="x", content_type="text/plain",
                size_bytes=5, sha256="0" * 64, object_name=uuid.uuid4().hex,
            )
        )  # fmt: skip
        services.contacts.delete(session, uuid.UUID(deleted))

    assert record_storage_used(tenant_a.ref) == 100

    with tenant_session(tenant_a.ref) as session:
        [left] = session.scalars(select(StoredFile)).all()
    assert left.name == "kept.txt"
    assert stored_keys(storage, tenant_a.tenant.id) == [f"files/{tenant_a.tenant.id}/{left.object_name}"]


def test_the_hourly_job_tidies_every_workspace_even_with_billing_off(tenant_a, storage):
    gone = add_contact(tenant_a, "g@example.com")
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", gone)
        services.contacts.delete(session, uuid.UUID(gone))

    report = sample_storage_used()

    # Other tests leave tenants whose schema a test moved by hand; only A's outcome is this test's.
    assert tenant_a.tenant.id not in report["failed"] and report["done"] >= 1
    assert stored_keys(storage, tenant_a.tenant.id) == []
    recorded = select(UsageRecord).where(UsageRecord.tenant_id == tenant_a.tenant.id)
    assert db.session.scalars(recorded).all() == []  # billing is off: nothing metered


def test_a_gb_month_is_a_gigabyte_kept_for_every_day_of_a_month():
    november, february = datetime(2026, 11, 5, tzinfo=UTC), datetime(2027, 2, 5, tzinfo=UTC)
    assert sum(day_quantity(10**9, november) for _ in range(30)) == pytest.approx(10**6, abs=30)
    assert day_quantity(10**9, february) == 35715  # ceil(10^6 / 28)
    assert day_quantity(0, november) == 0 and day_quantity(1, november) == 1  # any stored byte counts


def test_stored_bytes_are_metered_per_tenant_in_the_ledger(app, tenant_a, tenant_b, fake_stripe, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_files")
    contact = add_contact(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        _attach(session, "contacts", contact, content=b"x" * 3000, name="a.txt")
        _attach(session, "contacts", contact, content=b"y" * 3000, name="b.txt")
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)

    assert record_storage_used(tenant_a.ref, at) == 6000
    assert record_storage_used(tenant_b.ref, at) == 0

    rows = db.session.scalars(
        select(UsageRecord)
        .where(UsageRecord.meter_key == "storage_gb_months")
        .order_by(UsageRecord.tenant_id)
    ).all()
    # 6000 bytes for one day of November: 6000 / (1000 x 30) millionths of a GB-month, rounded up.
    assert [(r.tenant_id, r.quantity, r.period.isoformat()) for r in rows] == [
        (tenant_a.tenant.id, 1, "2026-11-20")
    ]
