"""A member picks a contact's account as they type (account 250 of 300), with the keyboard only, in a real
browser: the picker is an ARIA combobox over the indexed search, and the form saves the picked id."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import insert, select

from saas.db import tenant_session
from saas.modules.core.models import Account, Contact
from tests.e2e.conftest import Browsers, sign_in


def test_member_picks_account_250_with_the_keyboard(browsers: Browsers, tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        session.execute(insert(Account), [{"name": f"Harbor {i:03d}"} for i in range(300)])
    with tenant_session(tenant_b.ref) as session:
        session.execute(insert(Account), [{"name": "Harbor 250 of B"}])
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/contacts/new")
    page.get_by_label("Last name").fill("Picker")
    account = page.get_by_role("combobox", name="Account")
    account.press_sequentially("harbor 25", delay=40)
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(10)
    expect(options.first).to_have_text("Harbor 250")
    expect(page.get_by_role("listbox")).not_to_contain_text("of B")
    account.press("ArrowDown")
    account.press("Enter")
    expect(account).to_have_value("Harbor 251")
    expect(account).to_have_attribute("aria-expanded", "false")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Harbor 251")).to_be_visible()
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.last_name == "Picker"))
        assert contact.account.name == "Harbor 251"
