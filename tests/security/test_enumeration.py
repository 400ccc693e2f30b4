"""Public endpoints answer alike, and do the same work, whether or not an email address is known
(finding h): the customer hub's link requests, and signup."""

from __future__ import annotations

import uuid

import pytest
from rq.job import Job
from sqlalchemy import func, select

from saas.db import db
from saas.jobs import make_worker, queue
from saas.tenants.models import Tenant
from tests.privacy.conftest import add_contact
from tests.security.conftest import LINK_DOORS, ask_for_link, without_csrf_tokens
from tests.tenants.conftest import ask_to_sign_up


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


def _tenant_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Tenant))


def test_signup_answers_alike_for_a_known_address_and_mails_its_owner_a_notice_instead(
    client, app_ctx, tenant_a, mail_sink
):
    before = _tenant_count()
    new_email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    known = ask_to_sign_up(client, name="Copycat Ltd", admin_email=tenant_a.email)
    unknown = ask_to_sign_up(client, name="Copycat Ltd", admin_email=new_email)
    assert known.status_code == unknown.status_code == 200
    assert without_csrf_tokens(known.text) == without_csrf_tokens(unknown.text)
    assert "Check your mail" in known.text

    make_worker().work(burst=True)
    [notice] = mail_sink.to(tenant_a.email)
    assert "tried to create a new CRM workspace" in notice.get_content()
    assert "http://localhost/login" in notice.get_content()
    assert "/signup/confirm/" not in notice.get_content()  # no way in for whoever typed the address
    [confirmation] = mail_sink.to(new_email)
    assert "/signup/confirm/" in confirmation.get_content()
    assert _tenant_count() == before  # nothing is created before the link is used


def test_signup_queues_the_same_job_for_known_and_unknown_addresses(client, app_ctx, tenant_a, mail_sink):
    for email in (tenant_a.email, f"new-{uuid.uuid4().hex[:6]}@example.com"):
        [job] = _jobs_queued_by(lambda e=email: ask_to_sign_up(client, name="Copycat Ltd", admin_email=e))
        assert job.func_name == "saas.tenants.signup.send_signup_mail"
        assert job.args[0] == email


def test_signup_takes_no_password_so_none_is_checked_against_an_existing_account(client, app_ctx, tenant_a):
    form = client.get("/signup").text
    assert 'type="password"' not in form
    # A password posted anyway changes nothing: the answer is the same whatever it is.
    answers = {
        without_csrf_tokens(
            ask_to_sign_up(client, name="Copycat Ltd", admin_email=tenant_a.email, admin_password=p).text
        )
        for p in (tenant_a.password, "wrong-password-123")
    }
    assert len(answers) == 1
