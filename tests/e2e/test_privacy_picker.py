"""Staff pick the person of a privacy request as they type, in a real browser (the picker's script)."""

from __future__ import annotations

from playwright.sync_api import expect

from saas.db import tenant_session
from saas.modules.privacy import requests
from tests.e2e.conftest import Browsers, sign_in
from tests.privacy.conftest import add_contact


def test_staff_pick_the_person_of_a_request_as_they_type(browsers: Browsers, tenant_a, tenant_b):
    mara = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    add_contact(tenant_a, first_name="Zoe", last_name="Stone", email="zoe@stone.example")
    add_contact(tenant_b, first_name="Mara", last_name="Quinn", email="mara@b-quinn.example")
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/privacy/requests")
    # Typed, not submitted: the choices come while typing.
    page.get_by_label("Find the person (name or email)").press_sequentially("quin", delay=30)
    choice = page.get_by_role("radio", name="Mara Quinn mara@quinn.example")
    expect(choice).to_be_checked()  # the only match is chosen already
    expect(page.get_by_role("radio")).to_have_count(1)  # tenant B's Mara Quinn never shows
    page.get_by_label("Type").select_option("erasure")
    page.get_by_role("button", name="Open request").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with tenant_session(tenant_a.ref) as session:
        [item] = requests.list_requests(session)
        assert (str(item.contact_id), item.kind) == (mara, "erasure")
