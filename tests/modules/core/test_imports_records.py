"""CSV import as core's, over record types: a custom object's records, and imports with the sales module
switched off (contacts go on, leads are refused)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import func, select, text

from saas.auth.services import find_user_by_email
from saas.db import db, tenant_session
from saas.errors import NotFound
from saas.jobs import make_worker
from saas.modules.core import custom_fields, imports, objects, services
from saas.modules.core.models import Contact, ImportJob
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.core.test_imports import _csv, _upload

VEHICLE = {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles", "name_label": "Plate"}


def _define_vehicles(fixture) -> uuid.UUID:
    """A Vehicle object (its name labelled Plate) with a relation to accounts and a number; an account to
    point at and a vehicle already there. Returns the account's id."""
    with tenant_session(fixture.ref) as session:
        objects.define_object(session, VEHICLE)
        reference = {"key": "owner", "label": "Owner", "field_type": "reference", "reference": "accounts"}
        custom_fields.define_field(session, "co_vehicle", reference)
        custom_fields.define_field(
            session, "co_vehicle", {"key": "km", "label": "Km", "field_type": "number"}
        )
        account = services.accounts.create(session, {"name": f"Initech {fixture.slug}"})
        objects.service_for(session, "vehicle").create(session, {"name": "ZZ-9"})
        session.commit()
        return account.id


def _vehicles(fixture) -> dict[str, dict]:
    """The tenant's vehicles by plate: owner (reference), km and the record's owner."""
    with tenant_session(fixture.ref) as session:
        rows = session.execute(text("SELECT name, cf_owner, cf_km, owner_user_id FROM co_vehicle"))
        return {
            row.name: {"account": row.cf_owner, "km": row.cf_km, "owner": row.owner_user_id} for row in rows
        }


def _run_jobs() -> None:
    make_worker().work(burst=True)


def test_a_custom_objects_records_import_with_a_relation_and_each_bad_row_reported(client, tenant_a):
    account_id = _define_vehicles(tenant_a)
    headers = bearer(make_token(tenant_a))
    nowhere = uuid.uuid4()
    rows = [
        ["AB-1", str(account_id), "120"],
        ["CD-2", "", "5"],
        ["ab-1", "", "7"],  # the same plate as row 2, in other case: a duplicate within the file
        ["zz-9", "", "1"],  # already in the workspace
        ["EF-3", str(nowhere), "3"],  # a relation to no account
        ["GH-4", str(account_id), "lots"],  # not a number
        ["", str(account_id), "9"],  # no plate
        ["IJ-5", str(account_id), "42"],  # after the bad rows of the same batch: imported all the same
    ]
    started = _upload(client, headers, _csv(["Plate", "Owner", "Km"], rows), entity="co_vehicle")
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["columns"] == {"name": "Plate", "cf_owner": "Owner", "cf_km": "Km"}
    _run_jobs()
    job = client.get(f"/api/v1/imports/{started.get_json()['id']}", headers=headers).get_json()
    assert job["status"] == "done", job
    assert (job["processed_rows"], job["imported_rows"], job["duplicate_rows"], job["error_rows"]) == (
        8,
        3,
        2,
        3,
    )
    uploader = find_user_by_email(db.session, tenant_a.email).id
    vehicles = _vehicles(tenant_a)
    assert set(vehicles) == {"ZZ-9", "AB-1", "CD-2", "IJ-5"}
    assert vehicles["AB-1"] == {"account": account_id, "km": 120, "owner": uploader}
    assert vehicles["CD-2"]["account"] is None and vehicles["IJ-5"]["km"] == 42
    report = client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers)
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["row", "column", "reason", "Plate", "Owner", "Km"]
    by_row = {(line[0], line[1]): line[2] for line in lines[1:]}
    assert set(by_row) == {("6", "Owner"), ("7", "Km"), ("8", "Plate")}
    assert str(nowhere) in by_row[("6", "Owner")]
    # A record imported is a record like any other: listed, searchable, on its page.
    listed = client.get("/api/v1/objects/vehicle/records?q=IJ-5", headers=headers).get_json()["data"]
    assert [record["name"] for record in listed] == ["IJ-5"]


def test_a_custom_objects_import_page_offers_the_object_and_labels_its_name(client, tenant_a):
    _define_vehicles(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/imports/new")
    assert '<option value="co_vehicle">Vehicles</option>' in form.text
    upload = client.post(
        f"{base}/imports/new",
        data={"csrf_token": csrf_token_from(form.text), "entity": "co_vehicle",
              "file": (io.BytesIO(_csv(["Kennzeichen"], [["AB-1"]])), "fleet.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert upload.status_code == 302
    mapping = client.get(upload.headers["Location"])
    # Nothing suggests a column for the plate; the page asks for it by the object's own label.
    assert "Map a column to Plate: it is required to import vehicles" in mapping.text


def test_tenant_b_cannot_see_or_run_tenant_a_import_of_object_records(client, tenant_a, tenant_b):
    _define_vehicles(tenant_a)
    _define_vehicles(tenant_b)  # B has an object of the same key: the same table name, in its own schema
    a_headers, b_headers = bearer(make_token(tenant_a)), bearer(make_token(tenant_b))
    content = _csv(["Plate", "Km"], [["SECRET-1", "1"], ["SECRET-2", "x"]])
    started = _upload(client, a_headers, content, entity="co_vehicle")
    assert started.status_code == 202
    job_id = started.get_json()["id"]
    for url in (f"/api/v1/imports/{job_id}", f"/api/v1/imports/{job_id}/errors"):
        response = client.get(url, headers=b_headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url
    assert client.get("/api/v1/imports", headers=b_headers).get_json()["data"] == []
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/imports").text)
    for slug in (tenant_b.slug, tenant_a.slug):  # B's own workspace, and A's that B is no member of
        for path in ("", "/mapping", "/preview", "/progress", "/errors.csv"):
            page = client.get(f"/t/{slug}/imports/{job_id}{path}")
            assert page.status_code == 404 and "SECRET" not in page.text, (slug, path)
        for path in ("/start", "/mapping"):
            assert (
                client.post(f"/t/{slug}/imports/{job_id}{path}", data={"csrf_token": token}).status_code
                == 404
            )
    # A job run in B's schema does not find A's job (a job id that leaked into B's queue).
    with tenant_session(tenant_b.ref) as session, pytest.raises(NotFound):
        imports.run_import(session, job_id)
    with tenant_session(tenant_a.ref) as session:
        assert session.get(ImportJob, uuid.UUID(job_id)).status == "queued"  # B's attempts changed nothing
    _run_jobs()
    assert "SECRET-1" in _vehicles(tenant_a) and set(_vehicles(tenant_b)) == {"ZZ-9"}


@pytest.fixture
def sales_off(tenant_a):
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()


def test_contacts_import_while_the_sales_module_is_off_and_leads_are_refused_clearly(
    client, tenant_a, sales_off
):
    headers = bearer(make_token(tenant_a))
    people = _csv(["first_name", "last_name", "email"], [["Ann", "Lee", "ann@example.org"]])
    started = _upload(client, headers, people)
    assert started.status_code == 202, started.get_json()
    _run_jobs()
    assert (
        client.get(f"/api/v1/imports/{started.get_json()['id']}", headers=headers).get_json()["status"]
        == "done"
    )
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
    refused = _upload(client, headers, people, entity="leads")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"]["entity"] == [
        "Leads cannot be imported while the Sales module is switched off for this workspace."
    ]
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/imports/new")
    assert form.status_code == 200 and 'value="contacts"' in form.text and 'value="leads"' not in form.text
    page = client.post(
        f"/t/{tenant_a.slug}/imports/new",
        data={"csrf_token": csrf_token_from(form.text), "entity": "leads",
              "file": (io.BytesIO(people), "leads.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert page.status_code == 422 and "Sales module is switched off" in page.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 1  # the contacts' only


def test_an_object_with_the_longest_key_is_imported(client, tenant_a):
    # import_jobs.entity holds any record type's table: co_ and a key of up to 30 letters.
    with tenant_session(tenant_a.ref) as session:
        objects.define_object(session, {"key": "v" * 30, "singular": "Car", "plural": "Cars"})
        session.commit()
    started = _upload(client, bearer(make_token(tenant_a)), _csv(["Name"], [["A"]]), entity="co_" + "v" * 30)
    assert started.status_code == 202, started.get_json()
