"""The records of processing (GDPR Art. 30): generated from the switched-on modules, the workspace's consent
purposes and retention settings; where the data lives; as a page and a CSV; for owners and admins only; each
workspace's record is its own. (The cell-b region is checked in tests/cells/test_records_of_processing.py.)"""

from __future__ import annotations

import csv
import io
import re

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.privacy import retention
from saas.modules.switches import set_module_enabled
from saas.modules.website import site
from tests.conftest import TenantFixture, login

PAGE = "/t/{slug}/privacy/records-of-processing"
CSV = PAGE + ".csv"


def _activities(html: str) -> list[str]:
    return re.findall(r'<h2 id="activity-\d+">([^<]+?) <span', html)


def _csv_rows(client, fixture: TenantFixture) -> list[dict[str, str]]:
    answer = client.get(CSV.format(slug=fixture.slug))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(answer.text)))


def _switch(fixture: TenantFixture, key: str, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, key, enabled, actor="test")
    db.session.commit()


def test_the_record_names_the_controller_where_the_data_lives_and_the_workspace_settings(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        retention.set_policy(session, months=18, enabled=True, actor="test")
        site.update_settings(session, {"origins": "https://shop.example", "retention_days": "45"})
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(PAGE.format(slug=tenant_a.slug))
    assert page.status_code == 200
    assert f'<dd id="controller">{tenant_a.tenant.name}</dd>' in page.text
    assert '<dd id="data-region">Default (default)</dd>' in page.text
    names = _activities(page.text)
    assert {
        "Customer records",
        "Sales",
        "Email marketing",
        "Customer service",
        "Files",
        "Consent records",
    } <= set(names)
    # Consent purposes no module carries out are listed with consent as their basis.
    assert "SMS marketing" in names and "Consent (SMS marketing)" in page.text
    assert "Consent (Email marketing)" in page.text and "Consent (Website analytics)" in page.text
    assert "Deleted after 18 months without activity (retention policy), or on request." in page.text
    assert "Page views are deleted after 45 days (website settings); daily totals stay." in page.text
    assert "File storage (object storage in Default)" in page.text
    assert "None: stored only in Default (default)." in page.text
    settings = client.get(f"/t/{tenant_a.slug}/settings")
    assert f'href="{PAGE.format(slug=tenant_a.slug)}"' in settings.text


def test_switching_a_module_off_takes_its_activity_off_the_record(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert "Customer service" in _activities(client.get(PAGE.format(slug=tenant_a.slug)).text)
    assert "Customer service" in {row["Processing activity"] for row in _csv_rows(client, tenant_a)}
    _switch(tenant_a, "service", False)
    names = _activities(client.get(PAGE.format(slug=tenant_a.slug)).text)
    assert "Customer service" not in names and "Customer records" in names
    assert "Customer service" not in {row["Processing activity"] for row in _csv_rows(client, tenant_a)}
    _switch(tenant_a, "website", False)
    page = client.get(PAGE.format(slug=tenant_a.slug)).text
    # The off module's consent purpose is not passed off as processing the workspace does.
    assert "Website activity" not in _activities(page) and "Website analytics" not in page


def consent_row(rows: list[dict[str, str]]) -> dict[str, str]:
    return next(row for row in rows if row["Processing activity"] == "Consent records")


def test_the_csv_holds_one_row_per_activity_with_controller_region_and_transfers(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    rows = _csv_rows(client, tenant_a)
    assert len(rows) == len(_activities(client.get(PAGE.format(slug=tenant_a.slug)).text)) > 10
    assert {row["Controller"] for row in rows} == {tenant_a.tenant.name}
    assert {row["Where the data lives"] for row in rows} == {"Default (default)"}
    assert all(row["Transfers outside the region"].startswith("None: stored only in Default") for row in rows)
    marketing = next(row for row in rows if row["Processing activity"] == "Email marketing")
    assert marketing["Legal basis"] == "Consent (Email marketing)"
    assert "Email delivery" in marketing["Recipients"] and "Contacts" in marketing["Data subjects"]
    # One outgoing mail provider serves every cell: the record does not claim the mail stays in the region.
    assert "mail provider, which may be outside this region" in marketing["Transfers outside the region"]
    assert "mail provider" not in consent_row(rows)["Transfers outside the region"]
    consent = next(row for row in rows if row["Processing activity"] == "Consent records")
    assert consent["Legal basis"].startswith("Legal obligation")
    assert consent["Recipients"] == "None"


def test_a_member_who_is_not_an_admin_is_refused_page_and_csv(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "rep@alpha.example", tenant_a.password, role="member",
               actor=tenant_a.email)  # fmt: skip
    db.session.commit()
    login(client, "rep@alpha.example", tenant_a.password)
    assert client.get(PAGE.format(slug=tenant_a.slug)).status_code == 403
    assert client.get(CSV.format(slug=tenant_a.slug)).status_code == 403


def test_tenant_b_admin_sees_only_its_own_record_and_cannot_open_tenant_a_record(client, tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        retention.set_policy(session, months=18, enabled=True, actor="test")
    db.session.commit()
    _switch(tenant_a, "service", False)
    login(client, tenant_b.email, tenant_b.password)
    own = client.get(PAGE.format(slug=tenant_b.slug)).text
    assert f'<dd id="controller">{tenant_b.tenant.name}</dd>' in own and tenant_a.tenant.name not in own
    assert "Customer service" in _activities(own) and "18 months" not in own
    assert {row["Controller"] for row in _csv_rows(client, tenant_b)} == {tenant_b.tenant.name}
    assert client.get(PAGE.format(slug=tenant_a.slug)).status_code in (403, 404)
    assert client.get(CSV.format(slug=tenant_a.slug)).status_code in (403, 404)


def test_every_module_that_holds_personal_data_declares_what_it_does_with_it():
    from saas.modules.registry import registry

    silent = [m.key for m in registry if (m.personal_data or m.erase_person) and not m.processing]
    assert silent == []
