"""Tenant isolation of products, price books and quotes: tenant B's token and user get 404 for A's ids
through the API and the pages, B's lists never show A's rows, B's signed link cannot open A's quote, and
A's records are unchanged afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.db import tenant_session
from saas.modules.sfa import products, quotes
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Product, Quote
from saas.modules.sfa.quote_links import make_quote_token
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def a_records(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        product = products.products.create(
            session,
            {
                "sku": "SECRET-1",
                "name": "Secret Product",
                "prices": [{"currency": "EUR", "unit_price": Decimal("5")}],
            },
        )
        deal = deals.create(session, {"name": "Secret Deal"})
        quote = quotes.create_quote(session, deal.id, {"lines": [{"product_id": product.id}]})
        return {"product": product.id, "deal": deal.id, "quote": quote.id}


def _snapshot(tenant, ids) -> tuple:
    with tenant_session(tenant.ref) as session:
        product = session.get(Product, ids["product"])
        quote = session.get(Quote, ids["quote"])
        prices = [price.unit_price for price in product.prices]
        count = session.scalar(select(func.count()).select_from(Quote))
        return (product.name, product.active, prices, quote.status, quote.total, count)


def test_tenant_b_cannot_read_or_change_tenant_a_products_and_quotes_through_the_api(
    client, tenant_a, tenant_b, a_records
):
    before = _snapshot(tenant_a, a_records)
    headers = bearer(make_token(tenant_b))
    product, quote, deal = a_records["product"], a_records["quote"], a_records["deal"]
    attempts = [
        ("get", f"/api/v1/products/{product}", None),
        ("patch", f"/api/v1/products/{product}", {"name": "Hijacked"}),
        ("post", f"/api/v1/products/{product}/archive", None),
        ("get", f"/api/v1/quotes/{quote}", None),
        ("post", f"/api/v1/quotes/{quote}/versions", {}),
        ("post", f"/api/v1/quotes/{quote}/send", None),
        ("get", f"/api/v1/quotes/{quote}/pdf", None),
        ("get", f"/api/v1/quotes/{quote}/link", None),
        ("get", f"/api/v1/deals/{deal}/quotes", None),
        ("post", f"/api/v1/deals/{deal}/quotes", {"lines": [{"description": "x", "unit_price": "1"}]}),
    ]
    for method, path, body in attempts:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.mimetype == "application/problem+json"
    listed = client.get("/api/v1/products", headers=headers).get_json()["data"]
    assert listed == []
    line = {"product_id": str(product)}  # A's product id on B's own deal
    with tenant_session(tenant_b.ref) as session:
        b_deal = deals.create(session, {"name": "B deal"}).id
    refused = client.post(f"/api/v1/deals/{b_deal}/quotes", json={"lines": [line]}, headers=headers)
    assert refused.status_code == 422
    assert _snapshot(tenant_a, a_records) == before


def test_tenant_b_cannot_open_tenant_a_product_and_quote_pages(client, tenant_a, tenant_b, a_records):
    before = _snapshot(tenant_a, a_records)
    login(client, tenant_b.email, tenant_b.password)
    base = f"/t/{tenant_b.slug}"
    token = csrf_token_from(client.get(f"{base}/products").text)
    product, quote, deal = a_records["product"], a_records["quote"], a_records["deal"]
    for path in (
        f"/products/{product}",
        f"/quotes/{quote}",
        f"/quotes/{quote}/pdf",
        f"/deals/{deal}/quotes/new",
    ):
        assert client.get(base + path).status_code == 404, path
    for path in (f"/products/{product}", f"/products/{product}/prices", f"/products/{product}/archive",
                 f"/quotes/{quote}/versions", f"/quotes/{quote}/send", f"/deals/{deal}/quotes/new",
                 f"/deals/{deal}/amount-follows-quote"):  # fmt: skip
        data = {"csrf_token": token, "name": "Hijacked", "currency": "EUR", "price": "1"}
        assert client.post(base + path, data=data).status_code == 404, path
    assert "Secret Product" not in client.get(f"{base}/products?show=all").text
    assert _snapshot(tenant_a, a_records) == before


def test_a_link_signed_for_tenant_b_cannot_open_or_accept_tenant_a_quote(
    client, tenant_a, tenant_b, a_records
):
    quote = a_records["quote"]
    forged = make_quote_token(tenant_b.tenant.id, quote)
    assert client.get(f"/q/{tenant_b.slug}/{forged}").status_code == 404
    assert client.get(f"/q/{tenant_b.slug}/{forged}/pdf").status_code == 404
    real = make_quote_token(tenant_a.tenant.id, quote)
    assert client.get(f"/q/{tenant_b.slug}/{real}").status_code == 404
    csrf = csrf_token_from(client.get(f"/q/{tenant_a.slug}/{real}").text)
    for url in (f"/q/{tenant_b.slug}/{forged}/accept", f"/q/{tenant_b.slug}/{real}/accept"):
        assert client.post(url, data={"csrf_token": csrf, "name": "Mallory"}).status_code == 404
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Quote, quote).status == "draft"
