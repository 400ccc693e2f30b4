"""Issue 23's quote journey: a salesperson adds a product, creates a quote on a deal, opens it as PDF,
the customer accepts it through the signed link in their own browser, and the deal shows won with the
quote's total."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.sfa.deals import deals
from tests.e2e.conftest import Browsers, sign_in


def test_a_quote_is_created_opened_as_pdf_accepted_through_the_link_and_the_deal_is_won(
    browsers: Browsers, tenant_a
):
    with tenant_session(tenant_a.ref) as session:
        contact = Contact(
            first_name="Anna", last_name="Schmidt", email="anna@kunde.example", preferred_locale="de"
        )
        session.add(contact)
        session.flush()
        deal_id = deals.create(session, {"name": "Fleet licences", "contact_ids": [contact.id]}).id
    seller = browsers.new_page()
    sign_in(seller, tenant_a.email)
    base = f"/t/{tenant_a.slug}"

    seller.goto(f"{base}/products")
    form = seller.locator("#new-product")
    form.get_by_label("SKU").fill("LIC-100")
    form.get_by_label("Name").fill("Fleet licence")
    form.get_by_label("Unit").fill("seat")
    form.get_by_label("Tax rate (%)").fill("19")
    form.get_by_label("Price in the default price book").fill("250")
    form.get_by_role("button", name="Create product").click()
    expect(seller.get_by_role("status")).to_contain_text("Product Fleet licence created")

    seller.goto(f"{base}/deals/{deal_id}")
    seller.get_by_role("link", name="New quote").click()
    seller.get_by_label("Product 1").select_option(label="LIC-100 · Fleet licence")
    seller.get_by_label("Quantity 1").fill("4")
    seller.get_by_label("Description 2").fill("Onboarding workshop")
    seller.get_by_label("Unit price 2").fill("300")
    seller.get_by_label("Valid until").fill("2099-12-31")
    seller.get_by_role("button", name="Create quote").click()
    expect(seller.get_by_role("status")).to_contain_text(re.compile(r"Quote Q-\d{5} created"))
    expect(seller.locator("#quote-status")).to_have_text("Draft")
    # 4 x 250 + 300 = 1,300.00 net; 19 % on the licences only: 190.00; total 1,490.00
    expect(seller.locator(".quote-total")).to_contain_text("1,490.00")

    pdf_href = seller.locator("#quote-pdf").get_attribute("href")
    pdf = seller.request.get(pdf_href)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")

    link = seller.get_by_label("The customer's link (view, download, accept or decline)").input_value()
    customer = browsers.new_page()  # another browser context: no staff session
    customer.goto(link)
    expect(customer.locator("html")).to_have_attribute("lang", "de")
    expect(customer.get_by_role("heading", level=1)).to_contain_text("Angebot Q-")
    expect(customer.locator(".quote-total")).to_contain_text("1.490,00")
    customer_pdf = customer.request.get(customer.locator("#quote-pdf").get_attribute("href"))
    assert customer_pdf.headers["content-type"] == "application/pdf"
    customer.get_by_label("Geben Sie zur Annahme Ihren vollständigen Namen ein").fill("Anna Schmidt")
    customer.get_by_role("button", name="Angebot annehmen").click()
    expect(customer.locator("#quote-state")).to_contain_text("Angenommen von Anna Schmidt")
    expect(customer.get_by_role("button", name="Angebot annehmen")).to_have_count(0)

    seller.reload()
    expect(seller.locator("#quote-status")).to_have_text("Accepted")
    seller.goto(f"{base}/deals/{deal_id}")
    expect(seller.locator(".deal-stage")).to_contain_text("Won")
    expect(seller.locator("main")).to_contain_text("1,490.00")
