"""Migration in from other CRMs: each vendor's export read with its relations, the dry run, the job, the
report, custom fields, owners, consent events, reruns that create nothing, refused files that write
nothing, and another tenant kept out."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import func, select, text

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core import custom_fields, services
from saas.modules.core.models import (
    Account,
    Activity,
    Contact,
    ExternalRecord,
    VendorImport,
    VendorImportRow,
)
from saas.modules.privacy.models import ConsentEvent
from saas.modules.service.models import Ticket
from saas.modules.sfa.models import Deal, DealContact, Lead, Pipeline, Stage
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.modules.core import vendor_files
from tests.modules.core.vendor_files import SalesforceSizes


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _upload(client, headers, vendor: str, content: bytes, name: str = "export.zip"):
    return client.post(
        "/api/v1/vendor-imports",
        data={"vendor": vendor, "file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def _run(client, headers, import_id: str) -> dict:
    started = client.post(f"/api/v1/vendor-imports/{import_id}/start", headers=headers)
    assert started.status_code == 202, started.get_json()
    make_worker().work(burst=True)
    return client.get(f"/api/v1/vendor-imports/{import_id}", headers=headers).get_json()


def _count(fixture, model, *where) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _objects(dry_run: dict) -> dict[str, dict]:
    return {o["object"]: o for o in dry_run["objects"]}


SMALL = SalesforceSizes(accounts=40, contacts=120, leads=30, opportunities=60, cases=20, tasks=40, notes=30)


def test_salesforce_export_dry_run_then_import_with_relations_custom_fields_owners_and_consents(
    client, tenant_a, headers
):
    content = vendor_files.salesforce_export((tenant_a.email,), SMALL)
    uploaded = _upload(client, headers, "salesforce", content)
    assert uploaded.status_code == 201, uploaded.get_json()
    job = uploaded.get_json()
    dry = _objects(job["dry_run"])
    # The dry run writes nothing and tells, per object, what will happen and why.
    assert _count(tenant_a, Contact) == 0 and _count(tenant_a, Account) == 0
    assert (dry["Contact"]["rows"], dry["Contact"]["new"], dry["Contact"]["duplicates"]) == (120, 118, 1)
    assert dry["Contact"]["refused"] == 1
    reasons = {s["row"]: s for s in dry["Contact"]["samples"]}
    assert reasons[9]["outcome"] == "duplicate" and "earlier in this file" in reasons[9]["reason"]
    assert reasons[13]["outcome"] == "refused" and "email" in reasons[13]["reason"].lower()
    assert dry["Account"]["new"] == 40 and dry["Opportunity"]["new"] == 60 and dry["Task"]["new"] == 40
    assert {c["column"]: c["choice"] for c in dry["Account"]["columns"]}["Tier__c"] == "custom"
    # The admin edits the suggestion: the billing city stays out.
    patched = client.patch(
        f"/api/v1/vendor-imports/{job['id']}",
        json={"choices": {"Account": {"BillingCity": "ignore", "BillingCountry": "ignore"}}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["choices"]["Account"]["BillingCity"] == "ignore"

    done = _run(client, headers, job["id"])
    assert done["status"] == "done", done
    assert (done["duplicate_rows"], done["error_rows"], done["skipped_rows"]) == (1, 1, 0)
    assert done["imported_rows"] == 40 + 118 + 30 + 60 + 20 + 40 + 30
    with tenant_session(tenant_a.ref) as session:
        # Contacts point at their accounts; the duplicate's vendor id points at the contact kept.
        assert session.scalar(select(func.count()).where(Contact.account_id.is_not(None))) == 119 - 1
        kept = session.scalar(
            select(ExternalRecord.record_id).where(
                ExternalRecord.external_id == vendor_files.salesforce_id("003", 8)
            )
        )
        first = session.scalar(
            select(ExternalRecord.record_id).where(
                ExternalRecord.external_id == vendor_files.salesforce_id("003", 4)
            )
        )
        assert kept == first
        # Opportunities: in a pipeline named after the vendor, stages with their won/lost kinds.
        pipeline = session.scalar(select(Pipeline).where(Pipeline.name == "Salesforce"))
        kinds = {
            s.name: s.kind for s in session.scalars(select(Stage).where(Stage.pipeline_id == pipeline.id))
        }
        assert (
            kinds["Closed Won"] == "won" and kinds["Closed Lost"] == "lost" and kinds["Prospecting"] == "open"
        )
        assert (
            session.scalar(select(func.count()).select_from(Deal).where(Deal.account_id.is_not(None))) == 60
        )
        assert session.scalar(select(func.count()).select_from(Deal).where(Deal.status == "won")) == 12
        # Owners matched by email: the workspace owner's rows are theirs, the former rep's have none.
        owner_id = session.scalar(
            text("SELECT DISTINCT owner_user_id FROM deals WHERE owner_user_id IS NOT NULL")
        )
        assert (
            session.scalar(select(func.count()).select_from(Deal).where(Deal.owner_user_id == owner_id)) == 30
        )
        # Cases, tasks and notes land on their records.
        assert (
            session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.requester_contact_id.is_not(None))
            )
            == 20
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(Activity)
                .where(Activity.subject_type == "deal", Activity.kind != "system")
            )
            >= 20
        )
        # Custom fields the admin accepted, with the file's values; the ignored column is none.
        keys = {custom_fields.key_of(d) for d in custom_fields.list_fields(session, "accounts")}
        assert {"tier_c", "type", "numberofemployees"} <= keys and "billingcity" not in keys
        assert session.scalar(text("SELECT count(*) FROM accounts WHERE cf_tier_c = 'Gold'")) == 14
        # HasOptedOutOfEmail: a withdrawal in the consent ledger, source import.
        events = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "import")).all()
        assert len(events) == 12 and {e.status for e in events} == {"withdrawn"}

    report = client.get(f"/api/v1/vendor-imports/{job['id']}/report", headers=headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(report.text)))
    assert {(line["object"], line["row"], line["outcome"]) for line in lines} == {
        ("Contact", "9", "duplicate"),
        ("Contact", "13", "refused"),
    }

    # The same export again: nothing is created twice.
    again = _upload(client, headers, "salesforce", content).get_json()
    assert _objects(again["dry_run"])["Contact"]["already_imported"] == 119
    rerun = _run(client, headers, again["id"])
    assert rerun["status"] == "done" and rerun["imported_rows"] == 0, rerun
    assert (
        _count(tenant_a, Contact) == 118 and _count(tenant_a, Deal) == 60 and _count(tenant_a, Account) == 40
    )
    assert _count(tenant_a, ConsentEvent, ConsentEvent.source == "import") == 12


def test_hubspot_export_links_deals_tickets_notes_and_matches_existing_contacts(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        existing = services.contacts.create(
            session, {"email": "contact5@customer5.example", "first_name": "Here"}
        )
        session.commit()
        existing_id = existing.id
    files = vendor_files.hubspot_export(
        tenant_a.email, contacts=90, companies=20, deals=40, tickets=12, notes=30
    )
    uploaded = _upload(client, headers, "hubspot", vendor_files.zipped(files))
    assert uploaded.status_code == 201, uploaded.get_json()
    dry = _objects(uploaded.get_json()["dry_run"])
    assert (
        dry["contacts"]["duplicates"] == 1
        and "already in this workspace" in dry["contacts"]["samples"][0]["reason"]
    )
    done = _run(client, headers, uploaded.get_json()["id"])
    assert done["status"] == "done" and done["error_rows"] == 0, done
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 90
        # A deal associated with that contact links the contact that was already here.
        linked = session.scalar(
            select(func.count()).select_from(DealContact).where(DealContact.contact_id == existing_id)
        )
        assert linked >= 1
        stages = set(
            session.scalars(select(Stage.name).join(Pipeline).where(Pipeline.name == "Sales Pipeline"))
        )
        assert {"Appointment Scheduled", "Closed Won", "Closed Lost"} <= stages
        assert session.scalar(select(func.count()).select_from(Ticket)) == 12
        assert session.scalar(select(func.count()).select_from(Activity).where(Activity.kind == "note")) == 30
        assert (
            session.scalar(text("SELECT count(*) FROM contacts WHERE cf_lifecycle_stage = 'customer'")) == 30
        )


@pytest.mark.parametrize(
    ("vendor", "files", "counts"),
    [
        ("twenty", vendor_files.twenty_export(companies=15, people=50, opportunities=25), (15, 50, 25)),
        (
            "espocrm",
            vendor_files.espocrm_export(accounts=15, contacts=50, leads=20, opportunities=25, cases=10),
            (15, 50, 25),
        ),
    ],
)
def test_twenty_and_espocrm_exports_import_with_their_relations(
    client, tenant_a, headers, vendor, files, counts
):
    uploaded = _upload(client, headers, vendor, vendor_files.zipped(files))
    assert uploaded.status_code == 201, uploaded.get_json()
    done = _run(client, headers, uploaded.get_json()["id"])
    assert done["status"] == "done" and done["error_rows"] == 0, done
    with tenant_session(tenant_a.ref) as session:
        accounts = session.scalar(select(func.count()).select_from(Account))
        linked = session.scalar(
            select(func.count()).select_from(Contact).where(Contact.account_id.is_not(None))
        )
        deals = session.scalar(select(func.count()).select_from(Deal).where(Deal.account_id.is_not(None)))
        assert (accounts, linked, deals) == counts
        assert session.scalar(select(func.count()).select_from(DealContact)) == counts[2]


def _problem(response, status: int = 422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


@pytest.mark.parametrize(
    ("content", "expected", "beside_good_files"),
    [
        (b"PK\x03\x04 not really a zip", "not a ZIP", False),
        (
            vendor_files.zipped({"Contact.csv": b"Name,Email\nAnn,ann@example.org\n"}),
            "No \u201cId\u201d column",
            True,
        ),
        (vendor_files.zipped({"Account.csv": "Id,Name\n1,Caf\xe9\n".encode("latin-1")}), "not UTF-8", True),
        (vendor_files.zipped({"Opportunity.csv": b'Id,Name\n1,"open quote\n'}), "not valid CSV", True),
        (vendor_files.zipped({"readme.txt": b"hello"}), "None of the files", False),
    ],
)
def test_a_refused_vendor_file_writes_nothing(
    client, tenant_a, headers, content, expected, beside_good_files
):
    # A bad file beside good ones refuses the whole export: nothing is written.
    good = vendor_files.salesforce_export((), SalesforceSizes(5, 5, 0, 0, 0, 0, 0))
    uploads = [content, _with_good_files(content, good)] if beside_good_files else [content]
    for upload in uploads:
        problem = _problem(_upload(client, headers, "salesforce", upload))
        assert expected in str(problem), problem
    assert _count(tenant_a, VendorImport) == 0 and _count(tenant_a, Contact) == 0
    assert _count(tenant_a, Account) == 0 and _count(tenant_a, ExternalRecord) == 0


def _with_good_files(bad: bytes, good: bytes) -> bytes:
    import zipfile

    try:
        bad_files = {
            i.filename: zipfile.ZipFile(io.BytesIO(bad)).read(i)
            for i in zipfile.ZipFile(io.BytesIO(bad)).infolist()
        }
    except zipfile.BadZipFile:
        return bad
    good_zip = zipfile.ZipFile(io.BytesIO(good))
    files = {i.filename: good_zip.read(i) for i in good_zip.infolist() if i.filename not in bad_files}
    return vendor_files.zipped({**files, **bad_files})


def test_unknown_vendor_and_bad_choices_are_problems(client, tenant_a, headers):
    assert "vendor" in _problem(_upload(client, headers, "pipedrive", b"x"))["errors"]
    job = _upload(
        client,
        headers,
        "hubspot",
        vendor_files.zipped(
            vendor_files.hubspot_export("", contacts=5, companies=2, deals=0, tickets=0, notes=0)
        ),
    ).get_json()
    bad = client.patch(
        f"/api/v1/vendor-imports/{job['id']}",
        json={"choices": {"contacts": {"Email": "custom"}}},
        headers=headers,
    )
    assert "contacts.Email" in _problem(bad)["errors"]


def test_members_who_are_not_admins_cannot_import(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "rep@example.org", PASSWORD, "member", actor="test")
    db.session.commit()
    from saas.auth.services import create_api_token

    _, secret = create_api_token(db.session, tenant_a.slug, "rep@example.org", "rep")
    db.session.commit()
    response = _upload(client, bearer(secret), "hubspot", b"x")
    _problem(response, 403)


def test_another_tenant_cannot_see_or_reach_the_import_its_dry_run_or_report(
    client, tenant_a, tenant_b, headers
):
    files = vendor_files.hubspot_export(tenant_a.email, contacts=10, companies=3, deals=2, tickets=0, notes=0)
    job = _upload(client, headers, "hubspot", vendor_files.zipped(files)).get_json()
    other = bearer(make_token(tenant_b))
    base = f"/api/v1/vendor-imports/{job['id']}"
    assert client.get(base, headers=other).status_code == 404
    assert client.get(f"{base}/report", headers=other).status_code == 404
    assert client.patch(base, json={"choices": {}}, headers=other).status_code == 404
    assert client.post(f"{base}/start", headers=other).status_code == 404
    login(client, tenant_b.email, tenant_b.password)
    for path in ("", "/progress", "/report.csv"):
        assert client.get(f"/t/{tenant_b.slug}/vendor-imports/{job['id']}{path}").status_code == 404
    page = client.get(f"/t/{tenant_b.slug}/vendor-imports/new")
    start = client.post(
        f"/t/{tenant_b.slug}/vendor-imports/{job['id']}/start",
        data={"csrf_token": csrf_token_from(page.text)},
    )
    assert start.status_code == 404
    with tenant_session(tenant_a.ref) as session:
        assert session.get(VendorImport, uuid.UUID(job["id"])).status == "pending"
        assert session.scalar(select(func.count()).select_from(VendorImportRow)) == 0


def test_the_import_page_uploads_shows_the_dry_run_and_starts(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/vendor-imports/new")
    assert page.status_code == 200 and "Salesforce" in page.text
    refused = client.post(
        f"/t/{tenant_a.slug}/vendor-imports/new",
        data={
            "csrf_token": csrf_token_from(page.text),
            "vendor": "salesforce",
            "files": (io.BytesIO(b"Name\nx\n"), "Contact.csv"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "Contact.csv" in refused.text
    uploaded = client.post(
        f"/t/{tenant_a.slug}/vendor-imports/new",
        data={
            "csrf_token": csrf_token_from(page.text),
            "vendor": "espocrm",
            "files": [
                (io.BytesIO(c), n)
                for n, c in vendor_files.espocrm_export(
                    accounts=3, contacts=5, leads=0, opportunities=2, cases=0
                ).items()
            ],
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.text
    review = client.get(uploaded.headers["Location"])
    assert review.status_code == 200 and 'data-count="new">5<' in review.text
    started = client.post(
        uploaded.headers["Location"] + "/start", data={"csrf_token": csrf_token_from(review.text)}
    )
    assert started.status_code == 302
    make_worker().work(burst=True)
    assert _count(tenant_a, Contact, Contact.account_id.is_not(None)) == 5


def _unpacked(content: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


def test_an_erased_person_leaves_the_stored_export_and_the_report_and_a_rerun_does_not_bring_them_back(
    client, tenant_a, headers
):
    from saas.modules.privacy.subject import data_subject, erase_subject

    files = vendor_files.hubspot_export("", contacts=12, companies=2, deals=0, tickets=0, notes=0)
    content = vendor_files.zipped(files)
    done = _run(client, headers, _upload(client, headers, "hubspot", content).get_json()["id"])
    assert done["imported_rows"] == 14
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == "contact4@customer4.example"))
        report = erase_subject(session, data_subject(session, contact_id))
        session.commit()
        assert report["vendor_import_lines"] == 1
        stored = _unpacked(session.scalar(select(VendorImport.content)))
        assert b"contact4@customer4.example" not in stored and b"contact5@customer5.example" in stored
    # The old export once more: the erased person's vendor id is known, so they are not imported again.
    again = _run(client, headers, _upload(client, headers, "hubspot", content).get_json()["id"])
    assert again["imported_rows"] == 0 and again["skipped_rows"] == 14, again
    assert _count(tenant_a, Contact, Contact.email == "contact4@customer4.example") == 0


def test_a_stalled_import_can_be_started_again_and_runs_once(client, tenant_a, headers):
    from datetime import UTC, datetime, timedelta

    files = vendor_files.hubspot_export("", contacts=6, companies=2, deals=0, tickets=0, notes=0)
    job = _upload(client, headers, "hubspot", vendor_files.zipped(files)).get_json()
    base = f"/api/v1/vendor-imports/{job['id']}"
    assert client.post(f"{base}/start", headers=headers).status_code == 202
    assert _problem(client.post(f"{base}/start", headers=headers), 409)  # queued and alive
    with tenant_session(tenant_a.ref) as session:  # its worker died long ago
        session.get(VendorImport, uuid.UUID(job["id"])).heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
        session.commit()
    assert client.post(f"{base}/start", headers=headers).status_code == 202
    make_worker().work(burst=True)
    done = client.get(base, headers=headers).get_json()
    assert done["status"] == "done" and done["imported_rows"] == 8, done
    assert _count(tenant_a, Contact) == 6 and _count(tenant_a, ExternalRecord) == 8


def test_imported_consent_choices_keep_the_files_time_and_an_imported_grant_waits_for_confirmation(tenant_a):
    from datetime import UTC, datetime

    from saas.modules.registry import ImportedConsent, registry

    when = datetime(2023, 4, 5, 6, 7, 8, tzinfo=UTC)
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(session, {"email": "ann@example.org", "first_name": "Ann"})
        choices = [
            ImportedConsent(contact.id, "email_marketing", "withdrawn", when),
            ImportedConsent(contact.id, "email_marketing", "granted", None),
            ImportedConsent(contact.id, "no_such_purpose", "withdrawn", when),
        ]
        assert registry.import_consents(session, choices, "import:hubspot") == 2
        session.commit()
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [(e.status, e.source, e.actor) for e in events] == [
            ("withdrawn", "import", "import:hubspot"),
            ("pending", "import", "import:hubspot"),
        ]
        assert events[0].occurred_at == when and events[1].occurred_at > when


def test_with_the_sales_module_off_opportunities_are_refused_and_reported_and_the_rest_imports(
    client, tenant_a, headers
):
    from saas.modules.switches import set_module_enabled

    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    sizes = SalesforceSizes(accounts=4, contacts=6, leads=2, opportunities=3, cases=0, tasks=0, notes=0)
    job = _upload(client, headers, "salesforce", vendor_files.salesforce_export((), sizes)).get_json()
    dry = _objects(job["dry_run"])
    assert dry["Opportunity"]["refused"] == 3 and "switched off" in dry["Opportunity"]["samples"][0]["reason"]
    assert dry["Lead"]["refused"] == 2 and dry["Contact"]["new"] == 6
    done = _run(client, headers, job["id"])
    assert (done["status"], done["imported_rows"], done["error_rows"]) == ("done", 10, 5), done
    assert _count(tenant_a, Deal) == 0 and _count(tenant_a, Lead) == 0
    assert _count(tenant_a, VendorImportRow, VendorImportRow.object == "Opportunity") == 3


def test_files_are_recognised_by_each_vendors_naming():
    from saas.modules.core.vendor_imports.formats import ESPOCRM, HUBSPOT, SALESFORCE, TWENTY

    assert SALESFORCE.object_for_file("Contact.csv").object == "Contact"
    assert SALESFORCE.object_for_file("WE_00D/OpportunityContactRole.csv") is None  # another object
    assert SALESFORCE.is_users_file("User.csv") and not SALESFORCE.is_users_file("UserRole.csv")
    assert HUBSPOT.object_for_file("hubspot-crm-exports-all-deals-2024-06-01.csv").object == "deals"
    assert HUBSPOT.object_for_file("hubspot-crm-exports-all-companies-2024-06-01.csv").kind == "accounts"
    assert TWENTY.object_for_file("people.csv").kind == "contacts"
    assert ESPOCRM.object_for_file("Case.csv").kind == "tickets"
    assert vendor_files.salesforce_id("003", 1) == "0035g0000000001AAA"  # 18 characters, case-safe suffix
