"""Tenant isolation of leads and imports, and the sales module switched off and on again."""

from __future__ import annotations

import io

import pytest

from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core import imports
from saas.modules.core.models import ImportJob
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Lead
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token

CSV = b"first_name,last_name,email\nAlice,Secret,alice@alpha.example\nBob,Bad,not-an-email\n"


@pytest.fixture
def a_records(tenant_a):
    """A qualified lead of A's and a finished import of A's with one row error."""
    with tenant_session(tenant_a.ref) as session:
        lead = leads.create(session, {"first_name": "Sally", "last_name": "Secret", "status": "qualified"})
        job = imports.create_import(session, entity="leads", filename="secret.csv", content=CSV)
        imports.start_import(session, job.id)
        session.commit()
        imports.run_import(session, str(job.id))
        return {"lead": lead.id, "job": job.id}


def _lead_of_a_unchanged(tenant_a, lead_id) -> bool:
    with tenant_session(tenant_a.ref) as session:
        lead = session.get(Lead, lead_id)
        return lead is not None and (lead.status, lead.last_name) == ("qualified", "Secret")


def test_tenant_b_token_gets_404_for_every_lead_and_import_route_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_records
):
    headers = bearer(make_token(tenant_b))
    lead_url, job_url = f"/api/v1/leads/{a_records['lead']}", f"/api/v1/imports/{a_records['job']}"
    requests = [
        ("get", lead_url, {}),
        ("patch", lead_url, {"json": {"status": "working"}}),
        ("delete", lead_url, {}),
        ("post", f"{lead_url}/convert", {"json": {}}),
        ("get", job_url, {}),
        ("get", f"{job_url}/errors", {}),
    ]
    for method, url, extra in requests:
        response = getattr(client, method)(url, headers=headers, **extra)
        assert response.status_code == 404, (method, url)
        assert response.mimetype == "application/problem+json"
    for url in (
        "/api/v1/leads",
        "/api/v1/leads?q=secret",
        "/api/v1/leads?status=qualified",
        "/api/v1/imports",
    ):
        assert client.get(url, headers=headers).get_json()["data"] == [], url
    assert _lead_of_a_unchanged(tenant_a, a_records["lead"])
    own = client.get(job_url, headers=bearer(make_token(tenant_a)))
    assert own.status_code == 200 and own.get_json()["error_rows"] == 1


def test_tenant_b_user_gets_404_for_every_lead_and_import_page_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_records
):
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/leads").text)
    lead, job = a_records["lead"], a_records["job"]
    gets = [f"/leads/{lead}", f"/leads/{lead}/edit", f"/imports/{job}", f"/imports/{job}/mapping",
            f"/imports/{job}/preview", f"/imports/{job}/progress", f"/imports/{job}/errors.csv"]  # fmt: skip
    posts = [f"/leads/{lead}/edit", f"/leads/{lead}/delete", f"/leads/{lead}/convert",
             f"/imports/{job}/mapping", f"/imports/{job}/start"]  # fmt: skip
    for slug in (tenant_b.slug, tenant_a.slug):  # B's own workspace, and A's that B is no member of
        for path in gets:
            response = client.get(f"/t/{slug}{path}")
            assert response.status_code == 404 and "Secret" not in response.text, (slug, path)
        for path in posts:
            assert client.post(f"/t/{slug}{path}", data={"csrf_token": token}).status_code == 404, (
                slug,
                path,
            )
    for path in ("/leads", "/leads?q=secret", "/imports"):
        page = client.get(f"/t/{tenant_b.slug}{path}").text
        assert "Secret" not in page and "secret.csv" not in page
    assert _lead_of_a_unchanged(tenant_a, a_records["lead"])


def test_switched_off_sales_module_hides_leads_keeps_their_data_and_refuses_leads_imports(
    client, tenant_a, a_records
):
    headers = bearer(make_token(tenant_a))
    # A leads import queued before the switch: it must not write leads while the module is off.
    with tenant_session(tenant_a.ref) as session:
        job = imports.create_import(session, entity="leads", filename="late.csv", content=CSV)
        imports.start_import(session, job.id)
        late = job.id
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    for url in ("/api/v1/leads", f"/api/v1/leads/{a_records['lead']}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        assert "switched off" in response.get_json()["detail"]
    # Imports are core's: they stay, leads among them, but no new leads come in.
    assert client.get(f"/api/v1/imports/{a_records['job']}", headers=headers).status_code == 200
    upload = client.post(
        "/api/v1/imports", data={"entity": "leads", "file": (io.BytesIO(CSV), "x.csv")}, headers=headers
    )
    assert upload.status_code == 422 and upload.mimetype == "application/problem+json"
    assert "switched off" in upload.get_json()["errors"]["entity"][0]
    login(client, tenant_a.email, tenant_a.password)
    for path in ("/leads", f"/leads/{a_records['lead']}"):
        page = client.get(f"/t/{tenant_a.slug}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    assert ">Leads<" not in dashboard and ">Imports<" in dashboard
    make_worker().work(burst=True)
    with tenant_session(tenant_a.ref) as session:
        stopped = session.get(ImportJob, late)
        assert stopped.status == "failed" and "switched off" in stopped.message
        assert stopped.processed_rows == 0  # not a row read

    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", True, actor="test")
    db.session.commit()
    back = client.get(f"/api/v1/leads/{a_records['lead']}", headers=headers)
    assert back.status_code == 200 and back.get_json()["last_name"] == "Secret"
    assert client.get(f"/api/v1/imports/{a_records['job']}", headers=headers).get_json()["imported_rows"] == 1
    assert ">Leads<" in client.get(f"/t/{tenant_a.slug}/").text
