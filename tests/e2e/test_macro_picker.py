"""The macro picker in a real browser (its script, under the app's CSP): the m key opens it with the
cursor in its filter, typing narrows the list, Enter applies the one macro left."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.service.models import Macro, Ticket
from tests.e2e.conftest import Browsers, sign_in
from tests.modules.service.conftest import add_ticket


def test_the_m_key_opens_the_picker_and_enter_applies_the_filtered_macro(
    browsers: Browsers,
    tenant_a,
):
    ticket = add_ticket(tenant_a, subject="Broken hinge")
    with tenant_session(tenant_a.ref) as session:
        for name, priority in (("Escalate", "urgent"), ("Calm down", "low")):
            session.add(Macro(name=name, scope="shared", priority=priority, reply_kind="public", tags=[]))
    page = browsers.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/tickets/{ticket}")
    filter_box = page.get_by_label("Find a macro")
    expect(filter_box).to_be_hidden()  # closed until asked for
    page.get_by_role("heading", level=1).click()  # focus on the page, not in a field
    page.keyboard.press("m")
    expect(filter_box).to_be_focused()
    filter_box.press_sequentially("esc", delay=20)
    expect(page.get_by_role("button", name="Calm down")).to_be_hidden()
    filter_box.press("Enter")
    expect(page.get_by_text("Macro Escalate applied.")).to_be_visible()
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Ticket.priority)) == "urgent"
    assert errors == []  # no script refused by the CSP
