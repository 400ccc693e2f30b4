"""CSV import: malformed files, column mapping, dry run, dedupe, per-row errors, the RQ job and resuming."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from saas.auth.services import find_user_by_email
from saas.db import db, tenant_pools, tenant_session
from saas.jobs import make_worker
from saas.modules.core import services
from saas.modules.core.models import Account, Contact, ImportJob
from saas.modules.sfa.models import Lead
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _people(count: int, start: int = 0) -> list[list[str]]:
    return [[f"First{i}", f"Last{i}", f"person{i}@example.org"] for i in range(start, start + count)]


def _upload(client, headers, content: bytes, entity: str = "contacts", **form):
    return client.post(
        "/api/v1/imports",
        data={"entity": entity, "file": (io.BytesIO(content), "people.csv"), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def _run_jobs() -> None:
    make_worker().work(burst=True)


def _count(fixture, model) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model))


def _import(client, headers, content: bytes, entity: str = "contacts", **form) -> dict:
    started = _upload(client, headers, content, entity, **form)
    assert started.status_code == 202, started.get_json()
    _run_jobs()
    job = client.get(f"/api/v1/imports/{started.get_json()['id']}", headers=headers).get_json()
    assert job["status"] == "done", job
    return job


def test_one_bad_row_in_a_thousand_imports_999_and_reports_row_column_and_reason(client, tenant_a, headers):
    rows = _people(1000)
    rows[499][2] = "not-an-email"  # data row 500 is line 501 of the file
    job = _import(client, headers, _csv(["First name", "Last name", "E-Mail"], rows))
    assert (job["total_rows"], job["processed_rows"], job["imported_rows"], job["error_rows"]) == (
        1000,
        1000,
        999,
        1,
    )
    assert job["columns"] == {"first_name": "First name", "last_name": "Last name", "email": "E-Mail"}
    assert _count(tenant_a, Contact) == 999
    report = client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["row", "column", "reason", "First name", "Last name", "E-Mail"]
    assert len(lines) == 2
    row, column, reason, *values = lines[1]
    assert (row, column, values) == ("501", "E-Mail", ["First499", "Last499", "not-an-email"])
    assert "@" in reason  # email_validator's own explanation


def test_duplicates_by_email_are_skipped_against_existing_rows_and_within_the_file(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"last_name": "Existing", "email": "Person1@Example.org"})
    rows = [*_people(5), ["Again", "Zero", "PERSON0@example.org"], ["No", "Email", ""]]
    job = _import(client, headers, _csv(["first_name", "last_name", "email"], rows))
    assert (job["imported_rows"], job["duplicate_rows"], job["error_rows"]) == (4, 2, 1)
    with tenant_session(tenant_a.ref) as session:
        emails = sorted(session.scalars(select(func.lower(Contact.email))))
    assert emails == [f"person{i}@example.org" for i in range(5)]
    lines = list(
        csv.reader(io.StringIO(client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers).text))
    )
    assert lines[1][:2] == ["8", "email"] and "matched by it" in lines[1][2]


def test_utf8_with_bom_and_semicolons_import_and_leads_get_the_uploader_as_owner(client, tenant_a, headers):
    content = "\ufeff".encode() + _csv(
        ["Email", "Nachname", "Vorname", "Company", "Status"],
        [["jürgen@firma.example", "Müller", "Jürgen", "Firma", "qualified"],
         ["eva@firma.example", "Braun", "Eva", "Firma", ""],
         ["x@firma.example", "Converted", "Xaver", "Firma", "converted"]],
        delimiter=";",
    )  # fmt: skip
    job = _import(client, headers, content, entity="leads")
    assert (job["imported_rows"], job["error_rows"]) == (2, 1)
    owner = find_user_by_email(db.session, tenant_a.email).id
    with tenant_session(tenant_a.ref) as session:
        leads = {lead.last_name: lead for lead in session.scalars(select(Lead))}
    assert set(leads) == {"Müller", "Braun"}
    assert (leads["Müller"].status, leads["Braun"].status) == ("qualified", "new")
    assert leads["Müller"].first_name == "Jürgen" and leads["Müller"].owner_user_id == owner
    assert "converting" in client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers).text


def test_accounts_dedupe_by_domain_else_name(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        services.accounts.create(session, {"name": "Initech", "domain": "initech.example"})
    rows = [
        ["Initech Inc", "INITECH.example"],
        ["initech", ""],
        ["Globex", ""],
        ["GLOBEX", ""],
        ["", "x.example"],
    ]
    job = _import(client, headers, _csv(["Account name", "Website"], rows), entity="accounts")
    assert (job["imported_rows"], job["duplicate_rows"], job["error_rows"]) == (1, 3, 1)
    assert _count(tenant_a, Account) == 2


BAD_FILES = [
    ("Müller,mueller@example.org\n".encode("latin-1"), "not UTF-8"),
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"first_name,last_name,email\n", "no data rows"),
    (_csv(["first_name", "last_name"], [["A", "B"]]), "Map a column to Email"),
    (b"email name company\nx@y.example a b\n", "Only one column"),
    (b"PK\x03\x04\x14\x00\x06\x00!\x00\xe8\xa1", "not UTF-8"),
    (b"email\x00,name\nx@y.example,a\n", "NUL"),
    (b'email,name\n"x@y.example,a\n', "not valid CSV"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_malformed_file_gets_a_clear_422_and_nothing_is_written(client, tenant_a, headers, content, message):
    response = _upload(client, headers, content)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json" and message in response.get_json()["detail"]
    assert _count(tenant_a, ImportJob) == 0


def test_too_large_file_is_refused_with_the_limit_on_the_api_and_the_page(client, tenant_a, headers):
    from saas.modules.core.imports import MAX_FILE_BYTES

    # Over the import's limit, and over the limit of any request (read before the view runs).
    for content, status in ((b"email\n" + b"x" * MAX_FILE_BYTES, 422), (b"x" * (11 * 1024 * 1024), 413)):
        response = _upload(client, headers, content)
        assert response.status_code == status and response.mimetype == "application/problem+json"
        assert "larger than the 8 MB an import takes" in response.get_json()["detail"]
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/imports/new")
    page = client.post(
        f"/t/{tenant_a.slug}/imports/new",
        data={"csrf_token": csrf_token_from(form.text), "entity": "contacts",
              "file": (io.BytesIO(b"x" * (11 * 1024 * 1024)), "huge.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert page.status_code == 413 and "larger than the 8 MB an import takes" in page.text
    assert _count(tenant_a, ImportJob) == 0


def test_other_files_too_large_for_core_do_not_get_the_imports_message(client, tenant_a, headers):
    # Core's pages and API take the exchange rates' reference file too: its 413 is the general one.
    huge = b"x" * (11 * 1024 * 1024)
    response = client.post(
        "/api/v1/exchange-rates/reference-file",
        data={"file": (io.BytesIO(huge), "eurofxref.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "import" not in response.get_json()["detail"]
    login(client, tenant_a.email, tenant_a.password)
    page = client.post(
        f"/t/{tenant_a.slug}/settings/currencies/reference-file",
        data={"file": (io.BytesIO(huge), "eurofxref.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 413 and "Send a smaller file." in page.text and "import takes" not in page.text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"entity": "deals"}, "entity"),
        ({"mapping": "{not json"}, "mapping"),
        ({"mapping": "[1]"}, "mapping"),
        ({"mapping": '{"shoe_size": "email"}'}, "shoe_size"),
        ({"mapping": '{"email": "No such column"}'}, "email"),
        ({"mapping": '{"last_name": "last_name"}'}, "email"),
    ],
)
def test_bad_upload_parameters_get_a_problem_and_nothing_is_written(client, tenant_a, headers, form, field):
    content = _csv(["first_name", "last_name", "email"], _people(2))
    response = _upload(client, headers, content, **form)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert _count(tenant_a, ImportJob) == 0


def test_upload_without_a_file_is_refused(client, tenant_a, headers):
    response = client.post("/api/v1/imports", data={"entity": "contacts"}, headers=headers)
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_explicit_mapping_by_header_or_index_is_used(client, tenant_a, headers):
    content = _csv(["a", "b", "c"], [["Ann", "Other", "ann@example.org"]])
    job = _import(client, headers, content, mapping='{"first_name": 0, "last_name": "b", "email": "c"}')
    assert job["imported_rows"] == 1 and job["columns"] == {"first_name": "a", "last_name": "b", "email": "c"}


def test_a_crash_mid_import_resumes_after_the_last_committed_batch(app, client, tenant_a, headers):
    from saas.modules.core import imports

    schema = tenant_a.tenant.schema_name
    # A real failure inside PostgreSQL at row 250, i.e. in the third batch of 100.
    with tenant_pools().engine_for(tenant_a.ref).begin() as connection:
        connection.exec_driver_sql(
            f'CREATE FUNCTION "{schema}".refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            f"IF NEW.email = 'person250@example.org' THEN RAISE EXCEPTION 'disk on fire'; END IF; "
            f'RETURN NEW; END $$; CREATE TRIGGER refuse_row BEFORE INSERT ON "{schema}".contacts '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_row()'
        )
    content = _csv(
        ["first_name", "last_name", "email"], [*_people(400), ["Dup", "Of", "person10@example.org"]]
    )
    with tenant_session(tenant_a.ref) as session:
        job = imports.create_import(session, entity="contacts", filename="big.csv", content=content)
        job_id = job.id
    with tenant_session(tenant_a.ref) as session, pytest.raises(Exception, match="disk on fire"):
        imports.start_import(session, job_id)
        session.commit()
        imports.run_import(session, str(job_id), batch_size=100)
    with tenant_session(tenant_a.ref) as session:
        failed = session.get(ImportJob, job_id)
        assert (failed.status, failed.processed_rows, failed.imported_rows) == ("failed", 200, 200)
        assert "Stopped after row 200" in failed.message
    assert _count(tenant_a, Contact) == 200

    with tenant_pools().engine_for(tenant_a.ref).begin() as connection:
        connection.exec_driver_sql(f'DROP TRIGGER refuse_row ON "{schema}".contacts')
    resumed = client.post(f"/api/v1/imports/{job_id}", headers=headers)  # not a route: reads are GET
    assert resumed.status_code == 405
    login(client, tenant_a.email, tenant_a.password)
    status_page = client.get(f"/t/{tenant_a.slug}/imports/{job_id}")
    assert "Resume the import" in status_page.text
    started = client.post(
        f"/t/{tenant_a.slug}/imports/{job_id}/start", data={"csrf_token": csrf_token_from(status_page.text)}
    )
    assert started.status_code == 302
    _run_jobs()
    done = client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()
    assert (done["status"], done["processed_rows"], done["imported_rows"], done["duplicate_rows"]) == (
        "done", 401, 400, 1,
    )  # fmt: skip
    assert _count(tenant_a, Contact) == 400


def test_the_import_pages_map_preview_start_and_follow_an_import(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/imports/new")
    token = csrf_token_from(form.text)
    rows = [["Ann", "ann@example.org", "Lee"], ["Bob", "bad@", "Ray"], ["Ann", "ANN@example.org", "Lee"]]
    upload = client.post(
        f"{base}/imports/new",
        data={"csrf_token": token, "entity": "contacts",
              "file": (io.BytesIO(_csv(["Given name", "Mail", "Surname"], rows)), "team.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert upload.status_code == 302 and upload.headers["Location"].endswith("/mapping")
    mapping = client.get(upload.headers["Location"])
    # Suggested from the headers: Given name -> first name, Mail -> email, Surname -> last name.
    for field, index in (("first_name", 0), ("email", 1), ("last_name", 2)):
        assert re.search(rf'id="column_{field}".*?<option value="{index}" selected', mapping.text, re.S)
    no_email = client.post(
        upload.headers["Location"],
        data={"csrf_token": token, "column_first_name": "0", "column_last_name": "2"},
    )
    assert no_email.status_code == 422 and "Map a column to Email" in no_email.text
    mapped = client.post(
        upload.headers["Location"],
        data={"csrf_token": token, "column_first_name": "0", "column_email": "1", "column_last_name": "2"},
    )
    assert mapped.status_code == 302 and mapped.headers["Location"].endswith("/preview")
    preview = client.get(mapped.headers["Location"])
    assert "<strong>1</strong> would be imported" in preview.text
    assert "<strong>1</strong> duplicates would be skipped" in preview.text
    assert "<strong>1</strong> rows have errors" in preview.text
    assert "earlier in this file" in preview.text
    assert _count(tenant_a, Contact) == 0  # a dry run writes nothing
    job_id = re.search(r"/imports/([0-9a-f-]{36})/", mapped.headers["Location"]).group(1)
    started = client.post(f"{base}/imports/{job_id}/start", data={"csrf_token": token})
    assert started.status_code == 302
    assert "queued" in client.get(f"{base}/imports/{job_id}/progress").get_json()["status"]
    again = client.post(f"{base}/imports/{job_id}/start", data={"csrf_token": token})
    assert "queued already" in client.get(again.headers["Location"]).text
    _run_jobs()
    progress = client.get(f"{base}/imports/{job_id}/progress").get_json()
    assert progress | {"id": None, "message": None} == {
        "id": None, "status": "done", "total_rows": 3, "processed_rows": 3, "imported_rows": 1,
        "duplicate_rows": 1, "error_rows": 1, "message": None, "status_label": "done",
    }  # fmt: skip
    status_page = client.get(f"{base}/imports/{job_id}")
    assert "live-progress.js" in status_page.text and "Download the error report" in status_page.text
    report = client.get(f"{base}/imports/{job_id}/errors.csv")
    assert report.mimetype == "text/csv" and "attachment" in report.headers["Content-Disposition"]
    assert list(csv.reader(io.StringIO(report.text)))[1][:2] == ["3", "Mail"]
    assert "team.csv" in client.get(f"{base}/imports").text
    assert client.get("/static/live-progress.js").status_code == 200


def test_upload_page_shows_a_message_for_a_bad_file(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/imports/new")
    response = client.post(
        f"/t/{tenant_a.slug}/imports/new",
        data={"csrf_token": csrf_token_from(form.text), "entity": "contacts",
              "file": (io.BytesIO("é".encode("latin-1") + b",x\n"), "bad.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 422 and "not UTF-8" in response.text and 'id="file-error"' in response.text
    no_file = client.post(
        f"/t/{tenant_a.slug}/imports/new",
        data={"csrf_token": csrf_token_from(form.text), "entity": "contacts"},
    )
    assert no_file.status_code == 422 and "Choose a CSV file" in no_file.text
    assert _count(tenant_a, ImportJob) == 0


def test_an_erased_persons_email_is_refused_by_the_import_and_by_the_lead_form(client, tenant_a, headers):
    from saas.modules.privacy.subject import suppress_email

    with tenant_session(tenant_a.ref) as session:
        suppress_email(session, "gone@example.org", None)
    rows = [["Still", "Here", "here@example.org"], ["Gone", "Away", " GONE@example.org "]]
    for entity in ("contacts", "leads"):
        job = _import(client, headers, _csv(["first_name", "last_name", "email"], rows), entity=entity)
        assert (job["imported_rows"], job["error_rows"]) == (1, 1), entity
        report = client.get(f"/api/v1/imports/{job['id']}/errors", headers=headers).text
        assert "3,email,This email belongs to a person who asked to be erased" in report
    refused = client.post(
        "/api/v1/leads", json={"last_name": "Away", "email": "gone@example.org"}, headers=headers
    )
    assert refused.status_code == 422 and "asked to be erased" in refused.get_json()["detail"]
    assert _count(tenant_a, Lead) == 1
