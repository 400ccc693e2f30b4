"""Issue 24's journey: an admin imports a Salesforce Data Export ZIP through the dry run and finds the
accounts, contacts and opportunities with their links."""

from __future__ import annotations

from playwright.sync_api import expect

from saas.jobs import make_worker
from tests.e2e.conftest import Browsers, sign_in
from tests.modules.core.vendor_files import SalesforceSizes, salesforce_export

SIZES = SalesforceSizes(accounts=5, contacts=12, leads=3, opportunities=6, cases=2, tasks=4, notes=3)


def test_an_admin_imports_a_salesforce_export_through_the_dry_run_and_finds_its_links(
    browsers: Browsers, tenant_a
):
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/settings")
    page.get_by_role("link", name="Import from another CRM").click()
    page.get_by_label("Your current CRM").select_option("salesforce")
    page.get_by_label("Export files").set_input_files(
        {"name": "WE_00D5g000004Xyz_1.zip", "mimeType": "application/zip",
         "buffer": salesforce_export((tenant_a.email,), SIZES)}
    )  # fmt: skip
    page.get_by_role("button", name="Upload and check (dry run)").click()

    # The dry run: counts per object, the rows that will not be imported and why, unknown columns.
    contacts = page.locator("#object-Contact")
    expect(contacts.locator('[data-count="new"]')).to_have_text("10")
    expect(contacts.locator('[data-count="duplicates"]')).to_have_text("1")
    expect(contacts.locator('[data-count="refused"]')).to_have_text("1")
    expect(contacts).to_contain_text("earlier in this file")
    accounts = page.locator("#object-Account")
    expect(accounts.locator('[data-count="new"]')).to_have_text("5")
    accounts.get_by_label("BillingCity").select_option("ignore")
    page.get_by_role("button", name="Save the choices and check again").click()
    expect(page.get_by_role("status")).to_contain_text("made again")
    expect(page.locator("#object-Account").get_by_label("BillingCity")).to_have_value("ignore")

    page.get_by_role("button", name="Start the import").click()
    expect(page.get_by_role("status")).to_contain_text("Import started")
    make_worker().work(burst=True)
    progress = page.locator("#vendor-import-progress")
    expect(progress.locator('[data-field="status_label"]')).to_have_text("done")  # followed live, no reload
    expect(progress.locator('strong[data-field="imported_rows"]')).to_have_text(
        str(5 + 10 + 3 + 6 + 2 + 4 + 3)
    )
    expect(page.get_by_role("link", name="Download the report of rows not imported (CSV)")).to_be_visible()

    # The contact points at its account; the opportunity at its account, in its stage.
    page.goto(f"/t/{tenant_a.slug}/contacts?q=anna.0")
    page.locator("table tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("main")).to_contain_text("Acme 1")
    page.goto(f"/t/{tenant_a.slug}/deals?q=deal")
    page.get_by_role("link", name="Acme 1 deal 0").click()
    expect(page.locator("main")).to_contain_text("Acme 1")
    expect(page.locator("main")).to_contain_text("Prospecting")
    page.get_by_role("link", name="Acme 1", exact=True).first.click()
    expect(page.locator("main")).to_contain_text("Acme 1 deal 0")
