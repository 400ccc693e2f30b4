"""API resources /api/v1/products (list, create, read, update, archive) and /api/v1/price-books."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.sfa import products
from saas.modules.sfa.api.pipelines import admins_only
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.quote_schemas import (
    PriceBookIn,
    PriceBookList,
    PriceBookOut,
    ProductIn,
    ProductListQuery,
    ProductOut,
    ProductPage,
)
from saas.tenants.routing import current_tenant_session


@api.get("/products")
@api.auth_required(token_auth)
@api.input(ProductListQuery, location="query")
@api.output(ProductPage)
@api.doc(summary="List products", description="In name order, cursor-paginated; `q` searches SKU and name.")
def list_products(query_data: dict):
    page = products.products.list(current_tenant_session(), **query_data)
    return {"data": page.data, "next_cursor": page.next_cursor}


@api.post("/products")
@api.auth_required(token_auth)
@api.input(ProductIn)
@api.output(ProductOut, status_code=201)
@api.doc(summary="Create a product", description="The SKU is unique in the workspace.", responses=[422])
def create_product(json_data: dict):
    return products.products.create(current_tenant_session(), json_data)


@api.get("/products/<uuid:product_id>")
@api.auth_required(token_auth)
@api.output(ProductOut)
@api.doc(summary="Read a product", responses=[404])
def get_product(product_id: uuid.UUID):
    return products.products.get(current_tenant_session(), product_id)


@api.patch("/products/<uuid:product_id>")
@api.auth_required(token_auth)
@api.input(ProductIn(partial=True))
@api.output(ProductOut)
@api.doc(summary="Update a product", description="`prices` set the given prices.", responses=[404, 422])
def update_product(product_id: uuid.UUID, json_data: dict):
    return products.products.update(current_tenant_session(), product_id, json_data)


@api.post("/products/<uuid:product_id>/archive")
@api.auth_required(token_auth)
@api.output(ProductOut)
@api.doc(
    summary="Archive a product",
    description="New quotes no longer offer it; quotes that sold it are unchanged. "
    "Products are never deleted.",
    responses=[404],
)
def archive_product(product_id: uuid.UUID):
    return products.products.archive(current_tenant_session(), product_id)


@api.get("/price-books")
@api.auth_required(token_auth)
@api.output(PriceBookList)
@api.doc(summary="List price books", description="The default one first.")
def list_price_books():
    return {"data": products.list_price_books(current_tenant_session())}


@api.post("/price-books")
@api.auth_required(token_auth)
@admins_only
@api.input(PriceBookIn)
@api.output(PriceBookOut, status_code=201)
@api.doc(summary="Create a price book", description="Owners and admins only.", responses=[403, 422])
def create_price_book(json_data: dict):
    return products.create_price_book(current_tenant_session(), json_data)
