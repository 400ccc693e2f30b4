"""An admin builds "form submitted → wait 1 day → send email → if opened, create a task for the owner" on the
workflow page; a visitor submits the form (and confirms their subscription from the mailed link); the run
goes on along the workflow's test clock: the email lands in the SMTP sink, its pixel records the open, and
the task is there for the owner."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from saas.auth.models import User
from saas.automation import clock
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.marketing import forms
from saas.modules.sfa.models import Task
from saas.modules.workflows.models import WorkflowEnrolment
from saas.modules.workflows.runs import advance_all_due
from tests.e2e.conftest import Browsers, sign_in
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture
from tests.modules.marketing.conftest import make_campaign, sender_settings

VISITOR = "vera@visitor.example"


def _add_step(page: Page, kind: str) -> None:
    page.get_by_label("Add a step").select_option(kind)
    page.get_by_role("button", name="Add", exact=True).click()


def _step(page: Page, index: int):
    return page.locator(f'li[data-step="{index}"]')


def _link(message, pattern: str) -> str:
    html = message.get_body(preferencelist=("html", "plain")).get_content()
    match = re.search(pattern, html)
    assert match, f"no {pattern} in the mail"
    return match.group(0).replace("&amp;", "&")


def test_a_workflow_built_on_the_page_mails_a_form_visitor_and_tasks_the_owner_once_they_open_it(
    browsers: Browsers,
    tenant_a,
    mail_sink,  # noqa: F811
):
    clock.reset()
    sender_settings(tenant_a)
    make_campaign(tenant_a, name="Welcome mail")
    with tenant_session(tenant_a.ref) as session:
        newsletter = {
            "name": "Newsletter",
            "fields": ["email", "first_name"],
            "purposes": ["email_marketing"],
        }
        form = forms.create_form(session, {**newsletter, "create_lead": False})
        form_url = f"/m/{tenant_a.slug}/f/{forms.form_token(tenant_a.tenant.id, form.id)}"

    admin = browsers.new_page()
    sign_in(admin, tenant_a.email)
    admin.goto(f"/t/{tenant_a.slug}/workflows")
    admin.get_by_role("link", name="New workflow").click()
    admin.get_by_label("Name").fill("Newsletter follow-up")
    admin.get_by_label("When").select_option("form_submitted")
    admin.get_by_label("Form", exact=True).select_option(label="Newsletter")
    _add_step(admin, "wait")
    _step(admin, 0).locator('input[name="step-0-amount"]').fill("1")
    _step(admin, 0).locator('select[name="step-0-unit"]').select_option("days")
    _add_step(admin, "send_email")
    _step(admin, 1).get_by_label("Template").select_option(label="Welcome mail")
    _add_step(admin, "wait")
    _step(admin, 2).locator('input[name="step-2-amount"]').fill("3")
    _step(admin, 2).get_by_label("or until").select_option("email_opened")
    _add_step(admin, "branch")
    _step(admin, 3).get_by_label("If").select_option("email_opened")
    _add_step(admin, "create_task")
    _step(admin, 4).get_by_label("Title").fill("Call the new subscriber")
    expect(admin.locator("li[data-step]")).to_have_count(5)
    admin.get_by_label("Switched on").check()
    admin.get_by_role("button", name="Save workflow").click()
    expect(admin.get_by_text("Workflow saved.")).to_be_visible()

    visitor = browsers.new_page()
    visitor.goto(form_url)
    visitor.get_by_role("textbox", name="Email").fill(VISITOR)
    visitor.get_by_label("First name").fill("Vera")
    visitor.locator('input[name="consent_email_marketing"]').check()
    visitor.get_by_role("button", name=re.compile("Send|Submit")).click()
    expect(visitor.get_by_text("Thank you!")).to_be_visible()
    make_worker().work(burst=True)  # the run starts and waits its day; the opt-in confirmation is mailed
    [confirmation] = mail_sink.to(VISITOR)
    visitor.goto(_link(confirmation, r"http://[^\"'\s<>]+/confirm/[^\"'\s<>]+"))
    visitor.get_by_role("button", name="Yes, I agree").click()  # double opt-in: now may_contact allows mail
    assert len(mail_sink.to(VISITOR)) == 1  # nothing from the workflow before its day has passed

    clock.advance(timedelta(days=1, minutes=1))
    advance_all_due()  # the minute's sweep
    make_worker().work(burst=True)  # the outbox
    welcome = [m for m in mail_sink.to(VISITOR) if m["Subject"] == "News for Vera"]
    assert len(welcome) == 1
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Task.id)) is None  # not opened yet: the run waits

    visitor.goto(
        _link(welcome[0], r"http://[^\"'\s<>]+/wf/[^\"'\s<>]+\.gif")
    )  # the mail client shows the image
    make_worker().work(burst=True)
    admin_id = db.session.scalar(select(User.id).where(User.email == tenant_a.email))
    with tenant_session(tenant_a.ref) as session:
        [task] = session.scalars(select(Task)).all()
        # The contact has no owner: "the owner" is the member who built the workflow, as the page says.
        assert (task.title, task.assignee_user_id) == ("Call the new subscriber", admin_id)
        assert session.scalar(select(WorkflowEnrolment.status)) == "done"

    admin.reload()
    expect(admin.locator("li[data-run]")).to_have_attribute("data-status", "done")
    clock.reset()
