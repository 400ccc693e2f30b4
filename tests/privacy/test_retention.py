"""Retention: only contacts untouched for N months and needed by no module go; dry run first."""

from __future__ import annotations

from sqlalchemy import select

from saas.audit import AuditEntry
from saas.db import db, tenant_pools, tenant_session
from saas.jobs import make_worker
from saas.jobs.schedules import PERIODIC_JOBS
from saas.modules.core import services
from saas.modules.core.models import Activity, Contact
from saas.modules.privacy import requests, retention
from saas.modules.sfa.models import Deal, DealContact, Pipeline
from tests.conftest import csrf_token_from, login


def _age(fixture, contact_ids, years: int = 3) -> None:
    """Make contacts look untouched for ``years``: the rows' own clock, set back in the database."""
    with tenant_pools().engine_for(fixture.ref).begin() as connection:
        connection.exec_driver_sql(
            f'UPDATE "{fixture.tenant.schema_name}".contacts '
            "SET updated_at = now() - make_interval(years => %(years)s) WHERE id = ANY(%(ids)s)",
            {"ids": list(contact_ids), "years": years},
        )


def _people(fixture) -> None:
    with tenant_session(fixture.ref) as session:
        people = {
            name: services.contacts.create(
                session, {"last_name": name, "email": f"{name.lower()}@old.example"}
            ).id
            for name in ("Forgotten", "Dealmaker", "Chatty", "Asking", "Fresh")
        }
        pipeline = session.scalar(select(Pipeline))
        deal = Deal(name="Open deal", pipeline_id=pipeline.id, stage_id=pipeline.stages[0].id)
        session.add(deal)
        session.flush()
        session.add(DealContact(deal_id=deal.id, contact_id=people["Dealmaker"]))
        session.add(Activity(kind="call", subject="Recent call", contact_id=people["Chatty"]))
        requests.open_request(
            session,
            kind="access",
            contact_id=people["Asking"],
            channel="staff",
            actor="t",
            verification_method=None,
        )
    _age(fixture, [v for k, v in people.items() if k != "Fresh"])


def test_preview_and_run_delete_only_contacts_no_module_needs(client, tenant_a, tenant_b):
    _people(tenant_a)
    _people(tenant_b)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/retention?months=24")
    assert page.status_code == 200 and "1 contact would be deleted" in page.text
    assert "Forgotten" in page.text and "Dealmaker" not in page.text and "Fresh" not in page.text

    token = csrf_token_from(page.text)
    saved = client.post(
        f"/t/{tenant_a.slug}/privacy/retention", data={"months": "24", "enabled": "1", "csrf_token": token}
    )
    assert saved.status_code == 302
    assert (
        client.post(f"/t/{tenant_a.slug}/privacy/retention/run", data={"csrf_token": token}).status_code
        == 302
    )
    make_worker().work(burst=True)

    with tenant_session(tenant_a.ref) as session:
        left = set(session.scalars(select(Contact.last_name)))
        assert left == {"Dealmaker", "Chatty", "Asking", "Fresh"}
        report = retention.get_policy(session).last_report
        assert report["contacts"] == 1 and sum(report.values()) == 1
    with tenant_session(tenant_b.ref) as session:  # tenant B has no policy: untouched
        assert "Forgotten" in set(session.scalars(select(Contact.last_name)))
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action == "privacy.retention.applied"
        )
    )


def test_retention_runs_nightly():
    assert "saas.modules.privacy.retention.apply_all_retention" in {job.function for job in PERIODIC_JOBS}


def test_bad_retention_period_is_a_form_error(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/retention")
    bad = client.post(
        f"/t/{tenant_a.slug}/privacy/retention",
        data={"months": "0", "csrf_token": csrf_token_from(page.text)},
    )
    assert (bad.status_code == 422 and "1 to 240" in bad.text) or "retention period" in bad.text.lower()
