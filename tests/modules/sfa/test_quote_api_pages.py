"""Products and quotes through the API (problem+json on bad input), the staff pages, the PDF (text in
Cyrillic, CJK and Arabic script, right to left for Persian) and the customer's signed link."""

from __future__ import annotations

import contextlib
import io
import re
import zlib
from decimal import Decimal

import pytest
from sqlalchemy import select
from weasyprint import HTML

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.sfa import quotes
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Quote
from saas.modules.sfa.quote_documents import document_context, document_locale
from saas.modules.sfa.quote_links import make_quote_token
from tests.conftest import bearer, csrf_token_from, login, make_token


def _api(tenant):
    return bearer(make_token(tenant))


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_products_api_creates_lists_updates_and_archives(client, tenant_a):
    headers = _api(tenant_a)
    created = client.post(
        "/api/v1/products",
        json={"sku": "SKU-1", "name": "Widget", "unit": "pc", "tax_rate": "19",
              "prices": [{"currency": "eur", "unit_price": "12.5"}]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    assert product["prices"][0]["currency"] == "EUR" and Decimal(product["prices"][0]["unit_price"]) == 12.5
    duplicate = client.post("/api/v1/products", json={"sku": "sku-1", "name": "Twin"}, headers=headers)
    assert "sku" in _problem(duplicate, 422)["errors"]
    bad = client.post("/api/v1/products", json={"sku": "X", "name": "Y", "tax_rate": "150"}, headers=headers)
    _problem(bad, 422)
    changed = client.patch(f"/api/v1/products/{product['id']}", json={"name": "Widget 2"}, headers=headers)
    assert changed.get_json()["name"] == "Widget 2"
    archived = client.post(f"/api/v1/products/{product['id']}/archive", headers=headers)
    assert archived.get_json()["active"] is False
    active = client.get("/api/v1/products?active=true", headers=headers).get_json()["data"]
    assert active == []
    books = client.get("/api/v1/price-books", headers=headers).get_json()["data"]
    assert [book["is_default"] for book in books] == [True]


def _deal_with_contact(tenant, locale="ru", name=("Ольга", "Петрова")):
    with tenant_session(tenant.ref) as session:
        contact = Contact(
            first_name=name[0], last_name=name[1], email="c@example.com", preferred_locale=locale
        )
        session.add(contact)
        session.flush()
        deal = deals.create(session, {"name": "Big deal", "contact_ids": [contact.id]})
        return deal.id


def test_quotes_api_creates_versions_and_renders_pdf(client, tenant_a):
    headers = _api(tenant_a)
    deal_id = _deal_with_contact(tenant_a)
    body = {"expires_on": "2099-01-31", "discount_percent": "10",
            "lines": [{"description": "Консультация", "quantity": "2", "unit_price": "100",
                       "tax_rate": "20"}]}  # fmt: skip
    created = client.post(f"/api/v1/deals/{deal_id}/quotes", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    quote = created.get_json()
    assert (quote["subtotal"], quote["discount_amount"], quote["tax_amount"], quote["total"]) == (
        "200.00", "20.00", "36.00", "216.00",
    )  # fmt: skip
    refused = client.post(
        f"/api/v1/deals/{deal_id}/quotes", json={"lines": [{"quantity": "1"}]}, headers=headers
    )
    assert "lines.0.description" in _problem(refused, 422)["errors"]
    empty = client.post(f"/api/v1/deals/{deal_id}/quotes", json={"lines": []}, headers=headers)
    _problem(empty, 422)
    version = client.post(f"/api/v1/quotes/{quote['id']}/versions", json={}, headers=headers).get_json()
    assert (version["number"], version["version"], version["reference"]) == (
        quote["number"], 2, f"Q-{quote['number']:05d}-v2",
    )  # fmt: skip
    listed = client.get(f"/api/v1/deals/{deal_id}/quotes", headers=headers).get_json()["data"]
    assert [(q["version"], q["status"]) for q in listed] == [(2, "draft"), (1, "superseded")]
    pdf = client.get(f"/api/v1/quotes/{version['id']}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    link = client.get(f"/api/v1/quotes/{version['id']}/link", headers=headers).get_json()["url"]
    assert f"/q/{tenant_a.slug}/" in link


def _document_text(app, tenant, quote_id) -> tuple[str, str, list[str]]:
    """The rendered document's text, its base direction, and the fonts embedded in its PDF."""
    from flask import render_template

    from saas.i18n import in_locale
    from saas.modules.sfa.quote_documents import render_pdf

    with tenant_session(tenant.ref) as session:
        quote = session.get(Quote, quote_id)
        with in_locale(document_locale(session, quote)):
            page = render_template("sfa/quote_document.html", **document_context(session, quote))
        pdf = render_pdf(session, quote)
    document = HTML(string=page).render()
    texts: list[str] = []

    def walk(box):
        if hasattr(box, "text"):
            texts.append(box.text)
        for child in getattr(box, "children", []):
            walk(child)

    for document_page in document.pages:
        walk(document_page._page_box)
    direction = document.pages[0]._page_box.style["direction"]
    return " ".join(texts), direction, _pdf_font_names(pdf)


def _pdf_font_names(pdf: bytes) -> list[str]:
    """The /BaseFont names of a PDF (in plain or Flate-compressed object streams)."""
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):  # not every stream is Flate-compressed
            chunks.append(zlib.decompress(stream))
    return sorted({m.decode() for chunk in chunks for m in re.findall(rb"/BaseFont\s*/([\w+\-]+)", chunk)})


@pytest.mark.parametrize(
    ("locale", "line", "heading", "font", "direction"),
    [
        ("ru", "Консультация", "Коммерческое предложение", "Noto-Sans", "ltr"),
        ("zh_Hans", "咨询服务", "报价", "Noto-Sans-CJK", "ltr"),
        ("fa", "خدمات مشاوره", "پیش‌فاکتور", "Noto-Sans-Arabic", "rtl"),
    ],
)
def test_the_pdf_is_in_the_customers_language_and_script(
    app, tenant_a, locale, line, heading, font, direction
):
    deal_id = _deal_with_contact(tenant_a, locale=locale)
    with tenant_session(tenant_a.ref) as session:
        quote = quotes.create_quote(
            session, deal_id, {"lines": [{"description": line, "unit_price": Decimal("10")}]}
        )
        quote_id = quote.id
    text, shown_direction, fonts = _document_text(app, tenant_a, quote_id)
    assert line in text and heading in text
    assert shown_direction == direction
    assert any(font in name for name in fonts), fonts


def test_staff_pages_create_a_product_and_a_quote_and_open_its_pdf(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/products")
    assert page.status_code == 200
    token = csrf_token_from(page.text)
    refused = client.post(f"{base}/products", data={"csrf_token": token, "sku": "", "name": "No SKU"})
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    made = client.post(
        f"{base}/products",
        data={"csrf_token": token, "sku": "W-1", "name": "Widget", "tax_rate": "20", "price": "50",
              "currency": "EUR"},
    )  # fmt: skip
    assert made.status_code == 303
    product_page = client.get(made.location).text
    assert 'name="tax_rate" inputmode="decimal" value="20"' in product_page  # not 2E+1
    assert "<td>20</td>" in client.get(f"{base}/products").text
    deal_id = _deal_with_contact(tenant_a)
    form = client.get(f"{base}/deals/{deal_id}/quotes/new")
    product_id = re.search(r'<option value="([0-9a-f-]{36})">W-1', form.text).group(1)
    bad = client.post(
        f"{base}/deals/{deal_id}/quotes/new",
        data={"csrf_token": token, "lines-0-product_id": product_id, "lines-0-quantity": "-1"},
    )
    assert bad.status_code == 422 and "lines-0-quantity-error" in bad.text
    made = client.post(
        f"{base}/deals/{deal_id}/quotes/new",
        data={
            "csrf_token": token,
            "currency": "EUR",
            "lines-0-product_id": product_id,
            "lines-0-quantity": "2",
        },
    )
    assert made.status_code == 303
    quote_page = client.get(made.location)
    assert "120.00" in quote_page.text  # 2 x 50 + 20 %
    pdf = client.get(made.location + "/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    deal_page = client.get(f"{base}/deals/{deal_id}")
    assert "Q-0000" in deal_page.text


def test_product_csv_import_reports_each_refused_row(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/products/import").text)
    csv = (
        "sku;name;tax_rate;currency;price\nA-1;Кабель;19;EUR;9.90\nA-2;;7;EUR;1\nA-3;Adapter;7;XXX;1\n"
        "a-1;Кабель 2;19;USD;11\n"
    )
    result = client.post(
        f"{base}/products/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv.encode()), "products.csv")},
        content_type="multipart/form-data",
    )
    assert result.status_code == 200
    assert "1 created, 1 updated, 2 refused" in result.text
    assert re.search(r"<td>3</td><td>name:", result.text) and re.search(
        r"<td>4</td><td>currency:", result.text
    )
    listed = client.get(f"{base}/products?q=A-1").text
    assert "Кабель 2" in listed and "11" in listed


def _link_quote(tenant, expires_on=None):
    deal_id = _deal_with_contact(tenant, locale="de", name=("Anna", "Schmidt"))
    with tenant_session(tenant.ref) as session:
        quote = quotes.create_quote(
            session,
            deal_id,
            {"expires_on": expires_on, "lines": [{"description": "Beratung", "unit_price": Decimal("80")}]},
        )
        return deal_id, quote.id, make_quote_token(tenant.tenant.id, quote.id)


def test_the_customer_link_shows_the_quote_and_accepting_wins_the_deal(app, client, tenant_a):
    deal_id, quote_id, token = _link_quote(tenant_a)
    url = f"/q/{tenant_a.slug}/{token}"
    page = client.get(url)
    assert page.status_code == 200 and "Beratung" in page.text and 'lang="de"' in page.text
    pdf = client.get(url + "/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    csrf = csrf_token_from(page.text)
    nameless = client.post(url + "/accept", data={"csrf_token": csrf, "name": " "})
    assert nameless.status_code == 422
    accepted = client.post(url + "/accept", data={"csrf_token": csrf, "name": "Anna Schmidt"},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"})  # fmt: skip
    assert accepted.status_code == 303
    again = client.post(url + "/accept", data={"csrf_token": csrf, "name": "Anna Schmidt"})
    assert again.status_code == 409
    with tenant_session(tenant_a.ref) as session:
        quote = session.get(Quote, quote_id)
        assert (quote.status, quote.responder_name, quote.responder_ip) == (
            "accepted",
            "Anna Schmidt",
            "198.51.100.7",
        )
        deal = deals.get(session, deal_id)
        assert deal.status == "won" and deal.amount == Decimal("80.00")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.target == f"quote:{quote_id}"))
    assert entry.action == "quote.accepted" and entry.tenant_id == tenant_a.tenant.id
    assert entry.ip == "198.51.100.7" and "Anna" not in str(entry.details)


def test_a_tampered_or_foreign_link_is_a_plain_404(client, tenant_a, tenant_b):
    _, quote_id, token = _link_quote(tenant_a)
    assert client.get(f"/q/{tenant_b.slug}/{token}").status_code == 404
    assert client.get(f"/q/{tenant_a.slug}/{token}x").status_code == 404
    foreign = make_quote_token(tenant_b.tenant.id, quote_id)  # B's signature over A's quote id
    assert client.get(f"/q/{tenant_b.slug}/{foreign}").status_code == 404
    page = client.get(f"/q/{tenant_a.slug}/{token}")
    csrf = csrf_token_from(page.text)
    assert (
        client.post(f"/q/{tenant_b.slug}/{token}/accept", data={"csrf_token": csrf, "name": "X"}).status_code
        == 404
    )
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Quote, quote_id).status == "draft"


def test_an_expired_quote_cannot_be_accepted_through_its_link(client, tenant_a):
    from datetime import date

    _, _, token = _link_quote(tenant_a, expires_on=date(2020, 1, 1))
    url = f"/q/{tenant_a.slug}/{token}"
    page = client.get(url)
    assert 'id="quote-state"' in page.text and "/accept" not in page.text
    open_page = client.get(f"/q/{tenant_a.slug}/{_link_quote(tenant_a)[2]}")
    refused = client.post(
        url + "/accept", data={"csrf_token": csrf_token_from(open_page.text), "name": "Anna"}
    )
    assert refused.status_code == 409


def test_the_customer_link_is_rate_limited(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "QUOTE_LINK_RATE_LIMIT", "2 per minute")
    _, _, token = _link_quote(tenant_a)
    address = {"REMOTE_ADDR": "203.0.113.77"}
    answers = [client.get(f"/q/{tenant_a.slug}/{token}", environ_base=address).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_the_customer_link_answers_404_while_sales_is_switched_off(client, tenant_a):
    from saas.modules.switches import set_module_enabled

    _, _, token = _link_quote(tenant_a)
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    assert client.get(f"/q/{tenant_a.slug}/{token}").status_code == 404
    assert client.get(f"/q/{tenant_a.slug}/{token}/pdf").status_code == 404
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", True, actor="test")
    db.session.commit()
    assert client.get(f"/q/{tenant_a.slug}/{token}").status_code == 200


def test_an_admin_turns_off_winning_deals_on_acceptance_and_a_deal_stops_following_its_quote(
    client, tenant_a
):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/settings/quotes")
    assert page.status_code == 200 and "checked" in page.text
    saved = client.post(f"{base}/settings/quotes", data={"csrf_token": csrf_token_from(page.text)})
    assert saved.status_code == 303 and "checked" not in client.get(f"{base}/settings/quotes").text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "quotes.settings_changed"))
    assert entry.tenant_id == tenant_a.tenant.id and entry.details == {"from": True, "to": False}
    deal_id, quote_id, token = _link_quote(tenant_a)
    form = client.get(f"{base}/deals/{deal_id}")
    client.post(
        f"{base}/deals/{deal_id}/amount-follows-quote", data={"csrf_token": csrf_token_from(form.text)}
    )
    client.post(
        f"/q/{tenant_a.slug}/{token}/accept", data={"csrf_token": csrf_token_from(form.text), "name": "Anna"}
    )
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Quote, quote_id).status == "accepted"
        deal = deals.get(session, deal_id)
        assert (deal.status, deal.amount, deal.amount_follows_quote) == ("open", Decimal("0.00"), False)
