"""The product catalogue: products (unique SKU per workspace, a tax rate, active or archived) and their
unit prices per currency in price books, one of which is the default a new quote prices from.

Products are archived, never deleted: quotes keep pointing at what they sold.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from saas.db import TenantSession
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.services import RecordService
from saas.modules.sfa.models import PriceBook, Product, ProductPrice

DEFAULT_PRICE_BOOK = N_("Standard")
"""Seeded in English; shown in the reader's language while the workspace keeps the name."""


class ProductService(RecordService[Product]):
    def filters(self, *, active: bool | None = None) -> list[ColumnElement[bool]]:
        return [] if active is None else [Product.active.is_(active)]

    def create(self, session: TenantSession, data: dict[str, Any], *, copied: bool = False) -> Product:
        data = dict(data)
        prices = data.pop("prices", None) or []
        _check_sku(session, data["sku"], None)
        product = Product(**data)
        session.add(product)
        session.flush()
        set_prices(session, product, prices)
        self.emit(session, "created", product)
        return product

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Product:
        changes = dict(changes)
        prices = changes.pop("prices", None)
        if "sku" in changes:
            _check_sku(session, changes["sku"], record_id)
        product = super().update(session, record_id, changes)
        if prices:
            set_prices(session, product, prices)
        return product

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        raise ValidationError("Products are archived, not deleted: quotes keep what they sold.")

    def archive(self, session: TenantSession, record_id: uuid.UUID, active: bool = False) -> Product:
        """Take a product off new quotes (``active=False``) or put it back; its quotes are untouched."""
        return self.update(session, record_id, {"active": active})


def _check_sku(session: TenantSession, sku: str, product_id: uuid.UUID | None) -> None:
    # Case-insensitive, since people type "ab-1" for "AB-1"; the unique constraint backs the exact case.
    query = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if session.scalar(query.limit(1)) is not None:
        raise ValidationError("Another product has this SKU.", {"sku": ["Already used by another product."]})


products = ProductService(Product, "product", search=(Product.sku, Product.sort_name))


def set_prices(session: TenantSession, product: Product, prices: list[dict[str, Any]]) -> None:
    """Set the given prices (each: currency, unit_price, price_book_id or the default book)."""
    default_id = default_price_book(session).id if any(not p.get("price_book_id") for p in prices) else None
    for price in prices:
        book_id = price.get("price_book_id") or default_id
        if session.get(PriceBook, book_id) is None:
            raise ValidationError("Unknown price book.", {"price_book_id": ["No price book with this id."]})
        row = session.get(ProductPrice, (product.id, book_id, price["currency"]))
        if row is None:
            product.prices.append(
                ProductPrice(
                    price_book_id=book_id, currency=price["currency"], unit_price=price["unit_price"]
                )
            )
        else:
            row.unit_price = price["unit_price"]
    session.flush()


def unit_price(
    session: TenantSession, product_id: uuid.UUID, price_book_id: uuid.UUID, currency: str
) -> Decimal | None:
    return session.scalar(
        select(ProductPrice.unit_price).where(
            ProductPrice.product_id == product_id,
            ProductPrice.price_book_id == price_book_id,
            ProductPrice.currency == currency,
        )
    )


# Price books


def list_price_books(session: TenantSession) -> list[PriceBook]:
    return list(session.scalars(select(PriceBook).order_by(PriceBook.is_default.desc(), PriceBook.name)))


def default_price_book(session: TenantSession) -> PriceBook:
    """The default book; a workspace that lost it (never through the product) gets a new one."""
    book = session.scalar(select(PriceBook).where(PriceBook.is_default).limit(1))
    if book is None:
        book = PriceBook(name=DEFAULT_PRICE_BOOK, is_default=True)
        session.add(book)
        session.flush()
    return book


def get_price_book(session: TenantSession, price_book_id: uuid.UUID) -> PriceBook:
    book = session.get(PriceBook, price_book_id)
    if book is None:
        raise NotFound(N_("No price book with id %(id)s.", id=price_book_id))
    return book


def create_price_book(session: TenantSession, data: dict[str, Any]) -> PriceBook:
    if session.scalar(select(PriceBook.id).where(func.lower(PriceBook.name) == data["name"].lower())):
        raise ValidationError("Another price book has this name.", {"name": ["Already used."]})
    book = PriceBook(name=data["name"], is_default=False)
    session.add(book)
    session.flush()
    if data.get("is_default"):
        make_default(session, book.id)
    return book


def make_default(session: TenantSession, price_book_id: uuid.UUID) -> PriceBook:
    book = get_price_book(session, price_book_id)
    session.execute(update(PriceBook).where(PriceBook.id != book.id).values(is_default=False))
    book.is_default = True
    session.flush()
    return book


def seed_price_book(session: Any) -> None:
    """A new workspace's default price book (provisioning's seed)."""
    session.add(PriceBook(name=DEFAULT_PRICE_BOOK, is_default=True))
