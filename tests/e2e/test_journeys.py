"""The product's journeys in a real browser (Debian's chromium, headless) against the app on loopback.

Every test runs through the ``browsers`` fixture, which fails it if any page asked another host for
anything; a failing journey leaves a screenshot (see conftest).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from saas.billing.catalog import sync_catalog
from saas.db import db, tenant_session
from saas.modules.privacy import consent
from saas.modules.registry import registry
from tests.conftest import PASSWORD
from tests.e2e.conftest import Browsers, add_rep, sign_in
from tests.fake_stripe import API_KEY, WEBHOOK_SECRET
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture
from tests.privacy.conftest import add_contact


def forecast_weighted_this_month(page: Page) -> str:
    """The dashboard's weighted forecast of this month (its card's table), as shown."""
    month = datetime.now(UTC).strftime("%Y-%m")
    cell = page.locator('[data-card="sfa.forecast.eur"] tr', has=page.locator(f'th:text-is("{month}")'))
    return cell.locator('td[data-series="Weighted"]').text_content().strip()


# 1 ------------------------------------------------------------------------------------------------


@pytest.fixture
def billing_on(app, fake_stripe):
    keys = ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        STRIPE_API_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=fake_stripe.base
    )
    with app.app_context():
        # Stripe's catalog as the billing rows say (`saas billing sync`), whatever earlier tests left.
        sync_catalog(db.session)
        db.session.commit()
    yield
    app.config.update(saved)


def test_1_a_company_signs_up_for_a_trial_and_sees_its_empty_dashboard(
    page: Page,
    billing_on,
    app,
    monkeypatch,
    mail_sink,  # noqa: F811
):
    from saas.jobs import make_worker

    # A bucket of its own: the signup tests count on the default limit's allowance from 127.0.0.1.
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "100 per hour")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("keeps your customers yours")
    expect(page.locator("#meters [data-meter]").first).to_be_visible()  # pricing from the billing rows
    page.get_by_role("link", name="Start a free trial").first.click()

    # A mistake first: the errors show inline, next to their fields, and the typed values stay.
    page.get_by_label("Company name").fill("Brightwater Tea")
    page.get_by_label("Your work email").fill("not-an-email")
    page.get_by_role("button", name="Email me the link").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields")
    expect(page.locator(".field.invalid")).not_to_have_count(0)
    expect(page.get_by_label("Company name")).to_have_value("Brightwater Tea")

    email = f"founder-{uuid.uuid4().hex[:6]}@brightwater.example"
    page.get_by_label("Your work email").fill(email)
    page.get_by_label("I accept the terms").check()
    page.get_by_role("button", name="Email me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")

    # The address proves itself: the mailed link is where the password is chosen.
    with app.app_context():
        make_worker().work(burst=True)
    [message] = mail_sink.to(email)
    link = re.search(r"https?://\S+/signup/confirm/\S+", message.get_content())
    assert link, "the mail holds no signup link"
    page.goto(link.group(0))
    page.get_by_label("Choose your password").fill(PASSWORD)
    page.get_by_role("button", name="Create my workspace").click()

    expect(page).to_have_url(re.compile(r"/t/brightwater-tea[\w-]*/\?welcome=1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Brightwater Tea")
    expect(page.locator(".tenant-name")).to_contain_text("Brightwater Tea")
    expect(page.locator(".billing-banner")).to_contain_text("trial")
    checklist = page.locator(".checklist")
    for step in ("Choose your modules", "Invite your team", "Import your contacts", "Connect billing"):
        expect(checklist).to_contain_text(step)
    expect(checklist.locator('[data-step="billing"] .state')).to_have_text("To do")  # no card yet
    # Empty, and saying so: no chart without figures.
    expect(page.locator('[data-card="sfa.pipeline"]')).to_contain_text("No open deals yet")
    expect(page.locator('[data-card="core.new_contacts"]')).to_contain_text("No contacts yet")
    expect(page.locator(".cards svg")).to_have_count(0)
    # The checklist's links lead to the real pages.
    checklist.get_by_role("link", name="Choose your modules").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modules")


# 2 ------------------------------------------------------------------------------------------------


def module_off_journey(page: Page, fixture, key: str) -> None:
    """The admin switches module ``key`` off: its nav entries go, its pages show the module-off page;
    on again, everything is back."""
    module = registry.get(key)
    entry = module.nav[0]
    sign_in(page, fixture.email)
    nav = page.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name=entry.label, exact=True)
    expect(link).to_be_visible()
    module_url = link.get_attribute("href")

    nav.get_by_role("link", name="Settings").click()  # the settings hub, then its Modules page
    page.get_by_role("main").get_by_role("link", name="Modules", exact=True).click()
    page.get_by_role("button", name=f"Switch {module.title} off").click()
    expect(page.get_by_role("status")).to_contain_text(f"{module.title} switched off")
    for other in module.nav:
        expect(nav.get_by_role("link", name=other.label, exact=True)).to_have_count(0)

    response = page.goto(module_url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Module switched off")
    expect(page.locator(".error-page")).to_contain_text("Its data is kept")
    expect(page.get_by_role("link", name="Back to the dashboard")).to_be_visible()

    page.goto(f"/t/{fixture.slug}/settings/modules")
    page.get_by_role("button", name=f"Switch {module.title} on").click()
    expect(nav.get_by_role("link", name=entry.label, exact=True)).to_be_visible()
    assert page.goto(module_url).status == 200


def test_2_the_admin_turns_the_marketing_module_off(page: Page, tenant_a):
    assert registry.get("marketing") is not None, "the marketing module must be registered"
    module_off_journey(page, tenant_a, "marketing")


def test_2b_the_admin_turns_the_sales_module_off(page: Page, tenant_a):
    module_off_journey(page, tenant_a, "sfa")


# 3 ------------------------------------------------------------------------------------------------


def test_3_a_rep_creates_a_deal_drags_it_to_another_stage_and_the_forecast_changes(page: Page, tenant_a):
    rep = add_rep(tenant_a)
    sign_in(page, rep)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals", exact=True).click()
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Name").fill("Harbour tea supply")
    page.get_by_label("Amount").fill("2000")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Expected close date").fill(datetime.now(UTC).date().isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Deal saved")

    page.get_by_role("link", name="Dashboard").click()
    assert forecast_weighted_this_month(page) == "200"  # 10 % in Prospecting

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
    card = page.locator(".kanban-card", has_text="Harbour tea supply")
    source_column = page.locator(".kanban-column", has=card)
    expect(source_column.get_by_role("heading")).to_contain_text("Prospecting")
    target = page.locator(".kanban-column", has=page.get_by_role("heading", name=re.compile("^Proposal")))
    with page.expect_navigation():  # the board reloads with the new totals
        card.drag_to(target)
    moved = page.locator(".kanban-column", has=page.locator(".kanban-card", has_text="Harbour tea supply"))
    expect(moved.get_by_role("heading")).to_contain_text("Proposal")
    expect(moved.locator(".stage-totals")).to_contain_text("EUR 2,000.00")

    page.get_by_role("link", name="Dashboard").click()
    assert forecast_weighted_this_month(page) == "1,000"  # 50 % in Proposal
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forecast").click()
    expect(page.locator("main")).to_contain_text("1,000.00")


# 4 ------------------------------------------------------------------------------------------------


def test_4_an_end_customer_opens_the_customer_hub_from_an_email_link(
    browsers: Browsers,
    tenant_a,
    mail_sink,  # noqa: F811
):
    from saas.jobs import make_worker
    from saas.modules.service.tickets import tickets

    contact_id = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    with tenant_session(tenant_a.ref) as session:
        staff = consent.ConsentContext(source="staff", actor="e2e")
        consent.record_consent(session, uuid.UUID(contact_id), "email_marketing", "granted", staff)
        tickets.create(session, {"subject": "Invoice twice", "requester_contact_id": contact_id})

    page = browsers.new_page()
    page.goto(f"/p/{tenant_a.slug}/")  # the privacy center's old address leads to the hub
    expect(page).to_have_url(re.compile(rf"/hub/{tenant_a.slug}/$"))
    page.get_by_label("Email").fill("mara@quinn.example")
    page.get_by_role("button", name="Send me a link").click()
    make_worker().work(burst=True)  # the mail goes out from a job
    [message] = mail_sink.to("mara@quinn.example")
    link = re.search(r"https?://\S+/enter/\S+", message.get_content())
    assert link, "the mail holds no link"

    page.goto(link.group(0))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Mara")
    # One sign-in: her ticket and her consents on the one page, each in its own section.
    expect(page.locator("#hub-tickets")).to_contain_text("Invoice twice")
    expect(page.locator("#hub-consents").get_by_role("heading", level=2)).to_have_text("Your consents")
    row = page.locator("#hub-consents tr", has_text="Email marketing")
    expect(row).to_contain_text("agreed")  # the privacy center words a grant for the person
    row.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#hub-consents tr", has_text="Email marketing")).to_contain_text("withdrawn")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download everything (JSON)").click()
    data = json.loads(open(download.value.path()).read())  # noqa: SIM115 - the browser's own file
    assert data["data"]["core"]["contact"]["email"] == "mara@quinn.example"
    consents = json.dumps(data["data"]["privacy"])
    assert "withdrawn" in consents and "email_marketing" in consents
    with tenant_session(tenant_a.ref) as session:
        assert consent.may_contact(session, uuid.UUID(contact_id), "email_marketing") is False


# 5 ------------------------------------------------------------------------------------------------


def test_5_a_phone_renders_the_contact_page_without_horizontal_scrolling(browsers: Browsers, tenant_a):
    contact_id = add_contact(
        tenant_a,
        first_name="Maximiliane-Alexandra",
        last_name="Oberhuber-Wittgenstein",
        email="maximiliane.alexandra.oberhuber-wittgenstein@a-very-long-company-domain.example",
        phone="+43 660 1234567890",
        title="Head of International Procurement and Supplier Relations",
        notes="https://example.com/" + "a-very-long-unbroken-path-segment" * 4,
    )
    page = browsers.new_page(phone=True)
    sign_in(page, tenant_a.email)
    for path in (
        f"/t/{tenant_a.slug}/contacts/{contact_id}",
        f"/t/{tenant_a.slug}/contacts",
        f"/t/{tenant_a.slug}/",
    ):
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    page.goto(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maximiliane-Alexandra")
    # The measure does see a page that is too wide.
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<pre>' + 'x'.repeat(200) + '</pre>')"
    )
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") > 0
    expect(page.get_by_role("search")).to_be_visible()


# Long work ----------------------------------------------------------------------------------------


def test_an_import_shows_its_progress_live_and_then_its_result(browsers: Browsers, tenant_a, tmp_path):
    from saas.jobs import make_worker

    rows = "\n".join(f"Person{i},Import,person{i}@import.example" for i in range(40))
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(f"First name,Last name,Email\n{rows}\n")
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/imports/new")
    page.get_by_label("Import").select_option("contacts")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Check a dry run").click()
    page.get_by_role("button", name="Import 40 rows").click()
    section = page.locator("#import-progress")
    expect(section.locator('[data-field="status_label"]')).to_have_text("queued")

    make_worker().work(burst=True)  # the job runs while the page is open
    # The page notices by itself (live-progress.js polls), then reloads once with the final figures.
    expect(section.locator('[data-field="status_label"]')).to_have_text("done", timeout=20_000)
    expect(section.locator('[data-field="imported_rows"]')).to_have_text("40")
    expect(section.locator("progress")).to_have_attribute("value", "40")


def test_no_page_of_the_app_asks_another_host_for_anything(browsers: Browsers, tenant_a):
    """Every page the navigation reaches, public and in the workspace, on a desktop and a phone."""
    add_contact(tenant_a, first_name="Crawl", last_name="Er", email="crawl@er.example")
    for phone in (False, True):
        page = browsers.new_page(phone=phone)
        for path in ("/", "/pricing", "/signup", "/login", f"/p/{tenant_a.slug}/"):
            assert page.goto(path).status == 200, path
        sign_in(page, tenant_a.email)
        # Every link of the sidebar, folded away or not (a phone's menu is closed).
        nav = page.locator('nav[aria-label="Main"] a')
        targets = [nav.nth(i).get_attribute("href") for i in range(nav.count())]
        assert len(targets) >= 5
        for path in (*targets, f"/t/{tenant_a.slug}/search?q=crawl", f"/t/{tenant_a.slug}/getting-started"):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
    assert browsers.log.hosts == {browsers.server.netloc}
