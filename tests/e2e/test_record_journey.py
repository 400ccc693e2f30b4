"""A salesperson works a contact's page: edits its phone in place (a field error first, then a saved value
that a reload keeps), logs a call from the timeline's composer, and writes a note that @mentions a colleague,
who signs in, sees the unread count on the bell and follows the notification to the contact."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from saas.db import tenant_session
from saas.modules.core import services
from tests.e2e.conftest import add_rep, sign_in


def test_a_salesperson_edits_a_contact_in_place_logs_a_call_and_mentions_a_colleague(browsers, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(session, {"first_name": "Olga", "last_name": "Petrova"})
    rep, colleague = add_rep(tenant_a), add_rep(tenant_a)
    page = browsers.new_page()
    sign_in(page, rep)
    # Found with the command palette (Ctrl-K), from any page.
    page.goto(f"/t/{tenant_a.slug}/")
    page.keyboard.press("Control+k")
    palette = page.get_by_role("combobox", name="Go to a page or record, or run an action")
    palette.press_sequentially("Olga Petr")
    expect(page.get_by_role("option", name=re.compile("Olga Petrova"))).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/contacts/{contact.id}")
    contact_url = page.url
    assert contact_url.endswith(f"/contacts/{contact.id}")

    # The phone, in place: a wrong number is refused at the field, a right one saved without leaving.
    phone = page.locator('.property[data-property="phone"]')
    phone.get_by_role("button", name="Change").click()
    field = phone.get_by_role("textbox", name="Phone")
    expect(field).to_be_focused()
    field.fill("call the front desk")
    field.press("Enter")
    error = phone.locator(".error")
    expect(error).to_contain_text("Not a phone number")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "property-phone-error")
    field.fill("+49 30 1234567")
    field.press("Enter")
    expect(phone.locator(".property-value")).to_have_text("+49 30 1234567")
    expect(field).to_be_hidden()
    expect(page.locator("#properties-status")).to_have_text("Saved.")
    assert page.url == contact_url  # saved in place: the same page, the history untouched
    page.reload()
    expect(page.locator('.property[data-property="phone"] .property-value')).to_have_text("+49 30 1234567")

    # A call, from the timeline's composer.
    # "Log a call" is a command of the page's palette: it chooses the composer's kind and goes there.
    composer = page.locator("form.composer")
    page.keyboard.press("Control+k")
    palette.press_sequentially("log a call")
    expect(page.get_by_role("option", name=re.compile("Log a call"))).to_be_visible()
    page.keyboard.press("Enter")
    expect(composer.get_by_label("Call")).to_be_checked()
    expect(composer.get_by_label("Call")).to_be_focused()
    composer.get_by_label("Subject").fill("Called about the renewal")
    composer.get_by_role("button", name="Add to timeline").click()
    entry = page.locator(".timeline-entry").filter(has_text="Called about the renewal")
    expect(entry.locator(".badge")).to_have_text("Call")

    # A note that mentions the colleague by the name before the @ of their email.
    name = colleague.split("@")[0]
    composer = page.locator("form.composer")
    composer.get_by_label("Note").check()
    composer.get_by_label("Subject").fill("Offer")
    composer.get_by_label(re.compile("^Details")).fill(f"@{name} can you send her the offer?")
    composer.get_by_role("button", name="Add to timeline").click()
    expect(page.locator(".timeline-entry").filter(has_text="can you send her the offer")).to_be_visible()
    page.go_back()  # back after the composer's redirect: still the contact's page, nothing sent twice
    expect(page).to_have_url(re.compile(re.escape(contact_url)))

    # The colleague sees it on the bell and follows it to the contact.
    other = browsers.new_page()
    sign_in(other, colleague)
    other.goto(f"/t/{tenant_a.slug}/")
    bell = other.get_by_role("link", name="Notifications: 1 unread")
    expect(bell).to_be_visible()
    bell.click()
    notice = other.get_by_role("link", name=f"{rep} mentioned you on Olga Petrova")
    expect(notice).to_be_visible()
    expect(other.locator(".notification blockquote")).to_contain_text("can you send her the offer?")
    notice.click()
    expect(other).to_have_url(contact_url)
    expect(other.get_by_role("link", name="Notifications", exact=True)).to_be_visible()  # nothing unread now
