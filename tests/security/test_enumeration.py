"""Public endpoints answer alike, and do the same work, whether or not an email address is known
(finding h): the privacy center's and the portal's link requests, and signup."""

from __future__ import annotations

import pytest
from rq.job import Job

from saas.jobs import queue
from tests.privacy.conftest import add_contact
from tests.security.conftest import LINK_DOORS, ask_for_link, without_csrf_tokens


def _jobs_queued_by(request) -> list[Job]:
    """Run ``request()``; the jobs it put on the queue."""
    before = set(queue().job_ids)
    request()
    return [queue().fetch_job(job_id) for job_id in queue().job_ids if job_id not in before]


@pytest.mark.parametrize("door", sorted(LINK_DOORS))
def test_link_request_answers_alike_for_known_and_unknown_addresses(client, tenant_a, mail_sink, door):
    add_contact(tenant_a, first_name="Kim", email="known@example.com")
    known = ask_for_link(client, door, tenant_a.slug, "known@example.com")
    unknown = ask_for_link(client, door, tenant_a.slug, "unknown@example.com")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf_tokens(known.text) == without_csrf_tokens(unknown.text)


@pytest.mark.parametrize("door", sorted(LINK_DOORS))
def test_link_request_queues_the_same_job_for_known_and_unknown_addresses(client, tenant_a, mail_sink, door):
    """The structural half of "the same work": the view takes one path and the job decides."""
    contact_id = add_contact(tenant_a, first_name="Kim", email="known@example.com")
    function = LINK_DOORS[door][1]
    for email, contact in (("known@example.com", contact_id), ("unknown@example.com", None)):
        [job] = _jobs_queued_by(lambda e=email: ask_for_link(client, door, tenant_a.slug, e))
        assert job.func_name == "saas.jobs.run_tenant_job"
        assert job.args[:3] == (tenant_a.tenant.id, function, contact)
