"""A salesperson builds a sequence on its page (an email with a merge field, a wait, a task), enrols a
contact who agreed to email from the contact's page; the first email lands in the SMTP sink with replies
going to them, and after the wait (the engine's test clock) the task is theirs; the sequence page counts
the enrolment for them."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from saas.automation import clock
from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.sequences.runs import advance_all_due
from saas.modules.sfa.models import Task
from tests.e2e.conftest import Browsers, sign_in
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture
from tests.modules.sequences.conftest import add_people, contact_ids, owner_id


def _add_step(page: Page, kind: str) -> None:
    page.get_by_label("Add a step").select_option(kind)
    page.get_by_role("button", name="Add", exact=True).click()


def test_a_sequence_built_on_its_page_mails_a_contact_enrolled_from_theirs(
    browsers: Browsers,
    tenant_a,
    mail_sink,  # noqa: F811
):
    clock.reset()
    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    [contact_id] = contact_ids(tenant_a, [person])

    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/sequences")
    page.get_by_role("link", name="New sequence").click()
    page.get_by_label("Name").fill("First touch")
    _add_step(page, "email")
    page.get_by_label("Subject").fill("Hello {{ first_name }}")
    page.get_by_label("Message").fill("Could we talk this week?")
    _add_step(page, "wait")
    page.locator('input[name="step-1-amount"]').fill("2")
    _add_step(page, "task")
    page.locator('input[name="step-2-title"]').fill("Call after the first touch")
    expect(page.locator("li[data-step]")).to_have_count(3)
    page.get_by_role("button", name="Save sequence").click()
    expect(page.get_by_text("Sequence saved.")).to_be_visible()

    page.goto(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    page.get_by_label("Sequence", exact=True).select_option(label="First touch")
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_text("Enrolled in the sequence.")).to_be_visible()
    make_worker().work(burst=True)  # the first step: the email, through the outbox

    [first] = mail_sink.to(person)
    assert first["Subject"] == "Hello Granted0" and first["Reply-To"] == tenant_a.email
    page.reload()
    expect(page.locator('section[data-panel="sequences"] li[data-status="active"]')).to_be_visible()

    clock.advance(timedelta(days=2, minutes=1))
    advance_all_due()  # the minute's sweep: the wait ran out
    with tenant_session(tenant_a.ref) as session:
        [task] = session.scalars(select(Task)).all()
        assert (task.title, task.assignee_user_id, task.contact_id) == (
            "Call after the first touch",
            owner_id(tenant_a),
            contact_id,
        )
    page.goto(f"/t/{tenant_a.slug}/sequences")
    page.get_by_role("link", name="First touch").click()
    row = page.locator("tr[data-salesperson]")
    expect(row.locator('td[data-count="enrolled"]')).to_have_text("1")
    expect(row.locator('td[data-count="finished"]')).to_have_text("1")
    clock.reset()
