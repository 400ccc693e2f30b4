"""Background jobs run bound to the tenant they name, through a real RQ worker and Redis."""

from __future__ import annotations

from saas.db import tenant_session
from saas.jobs import enqueue_for_tenant, make_worker
from saas.modules.core import services


def count_contacts_named(session, last_name: str) -> list[str]:
    """A job body: what this tenant's session can see."""
    page = services.contacts.list(session, q=last_name)
    return [c.last_name for c in page.data]


def test_job_for_tenant_b_sees_only_tenant_b(app_ctx, tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"last_name": "Jobsecret"})
    job_b = enqueue_for_tenant(
        tenant_b.tenant.id, "tests.jobs.test_tenant_jobs.count_contacts_named", "Jobsecret"
    )
    job_a = enqueue_for_tenant(
        tenant_a.tenant.id, "tests.jobs.test_tenant_jobs.count_contacts_named", "Jobsecret"
    )
    make_worker().work(burst=True)
    job_a.refresh()
    job_b.refresh()
    assert job_a.get_status() == "finished" and job_a.return_value() == ["Jobsecret"]
    assert job_b.get_status() == "finished" and job_b.return_value() == []
