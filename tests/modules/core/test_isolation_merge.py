"""Tenant isolation of duplicate flags and merges: tenant B can neither see A's records as duplicates nor
merge them (API and pages answer 404, nothing changes); leads' merge goes with the sales module's switch."""

from __future__ import annotations

import pytest

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.models import Account, Contact
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Lead
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token

EMAIL = "secret@shared.example"


def _pair(fixture) -> dict[str, dict]:
    """Two likely duplicates of each kind in the tenant."""
    with tenant_session(fixture.ref) as session:
        made = {}
        for path, service, data in (
            ("contacts", services.contacts, {"last_name": "Secret", "email": EMAIL}),
            ("accounts", services.accounts, {"name": "Secret Corp", "domain": "shared.example"}),
            ("leads", leads, {"last_name": "Secret", "email": EMAIL}),
        ):
            made[path] = {"keep": service.create(session, data).id, "dupe": service.create(session, data).id}
        return made


@pytest.fixture
def a_records(tenant_a):
    return _pair(tenant_a)


def _unchanged(fixture, records) -> bool:
    with tenant_session(fixture.ref) as session:
        return all(
            session.get(model, records[path][side]) is not None
            for path, model in (("contacts", Contact), ("accounts", Account), ("leads", Lead))
            for side in ("keep", "dupe")
        )


def test_tenant_b_token_cannot_merge_or_see_tenant_a_records(client, tenant_a, tenant_b, a_records):
    b_records = _pair(tenant_b)  # same emails and names as A's: duplicates only within B
    headers = bearer(make_token(tenant_b))
    for path, ids in a_records.items():
        mine = b_records[path]["keep"]
        requests = [
            (f"/api/v1/{path}/{ids['keep']}/merge", ids["dupe"]),  # both A's
            (f"/api/v1/{path}/{mine}/merge", ids["dupe"]),  # A's merged into B's
            (f"/api/v1/{path}/{ids['keep']}/merge", mine),  # B's merged into A's
        ]
        for url, other in requests:
            response = client.post(url, json={"merge_id": str(other)}, headers=headers)
            assert response.status_code == 404, (url, response.get_json())
            assert response.mimetype == "application/problem+json"
        own = client.get(f"/api/v1/{path}/{mine}", headers=headers).get_json()
        assert [d["id"] for d in own["possible_duplicates"]] == [str(b_records[path]["dupe"])], path
    assert _unchanged(tenant_a, a_records) and _unchanged(tenant_b, b_records)


def test_tenant_b_user_gets_404_for_merge_pages_of_tenant_a(client, tenant_a, tenant_b, a_records):
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/contacts").text)
    for slug in (tenant_b.slug, tenant_a.slug):  # B's own workspace, and A's that B is no member of
        for path, ids in a_records.items():
            url = f"/t/{slug}/{path}/{ids['keep']}/merge"
            assert client.get(url).status_code == 404, url
            assert client.get(f"{url}?with={ids['dupe']}").status_code == 404, url
            posted = client.post(url, data={"csrf_token": token, "other_id": str(ids["dupe"])})
            assert posted.status_code == 404, url
    assert _unchanged(tenant_a, a_records)


def test_lead_merge_is_off_with_the_sales_module_and_back_with_it(client, tenant_a, a_records):
    headers = bearer(make_token(tenant_a))
    ids = a_records["leads"]
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    response = client.post(
        f"/api/v1/leads/{ids['keep']}/merge", json={"merge_id": str(ids["dupe"])}, headers=headers
    )
    assert response.status_code == 404 and response.get_json()["title"] == "Module switched off"
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads/{ids['keep']}/merge?with={ids['dupe']}")
    assert page.status_code == 404 and "switched off" in page.text
    assert _unchanged(tenant_a, a_records)
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", True, actor="test")
    db.session.commit()
    response = client.post(
        f"/api/v1/leads/{ids['keep']}/merge", json={"merge_id": str(ids["dupe"])}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
