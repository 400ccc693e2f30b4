"""The CSV import of the product catalogue, with an error per refused row.

Core's generic import (saas.modules.core.imports) copies rows into one table of a record type; a product
row also sets a price in a price book and updates an existing SKU, so this small import reuses core's
decoding (UTF-8 only, separator detection) and the product schema, and runs in the request: a catalogue
is hundreds of rows, not a hundred thousand (MAX_ROWS).

Columns (header names, any case): ``sku``, ``name`` (both required), ``description``, ``unit``,
``tax_rate``, ``currency`` and ``price`` (together, into the default price book or ``price_book`` by
name), ``active``. A known SKU updates its product; a refused row changes nothing and is reported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import marshmallow
from sqlalchemy import func, select

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.core.imports import decode_csv, detect_delimiter
from saas.modules.sfa import products
from saas.modules.sfa.models import PriceBook, Product
from saas.modules.sfa.quote_schemas import PriceIn, ProductIn

MAX_ROWS = 5000
PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "tax_rate", "active")
PRICE_COLUMNS = ("currency", "price")


@dataclass
class ProductImport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(line number in the file, what is wrong), for each refused row."""


def import_products(session: TenantSession, content: bytes) -> ProductImport:
    text = decode_csv(content)
    reader = csv.reader(io.StringIO(text), delimiter=detect_delimiter(text.split("\n", 1)[0]))
    headers = [header.strip().lower() for header in next(reader)]
    missing = [name for name in ("sku", "name") if name not in headers]
    if missing:
        message = N_(
            "The file needs the columns %(missing)s (it has: %(headers)s).",
            missing=", ".join(missing),
            headers=", ".join(headers),
        )
        raise ValidationError(message, {"file": [message]})
    books = {book.name.lower(): book.id for book in session.scalars(select(PriceBook))}
    result = ProductImport()
    for count, values in enumerate(reader, start=1):
        if count > MAX_ROWS:
            result.errors.append(
                (reader.line_num, N_("Only %(limit)s rows are imported at once.", limit=MAX_ROWS))
            )
            break
        if not any(value.strip() for value in values):
            continue
        row = dict(zip(headers, values, strict=False))
        try:
            with session.begin_nested():  # a refused row leaves nothing behind
                created = _import_row(session, row, books)
        except (ValidationError, marshmallow.ValidationError) as error:
            result.errors.append((reader.line_num, _describe(error)))
            continue
        result.created += created
        result.updated += not created
    return result


def _import_row(session: TenantSession, row: dict[str, str], books: dict[str, Any]) -> bool:
    """Create or update the row's product (and price); True when created."""
    sku = row.get("sku", "").strip()
    existing = (
        session.scalar(select(Product.id).where(func.lower(Product.sku) == sku.lower())) if sku else None
    )
    # An update changes only the columns the row fills (an archived product stays archived).
    schema = ProductIn() if existing is None else ProductIn(partial=True)
    data = schema.load({name: row[name] for name in PRODUCT_COLUMNS if row.get(name, "").strip()})
    if any(row.get(name, "").strip() for name in PRICE_COLUMNS):
        price = PriceIn().load({"currency": row.get("currency", ""), "unit_price": row.get("price", "")})
        book_name = row.get("price_book", "").strip().lower()
        if book_name and book_name not in books:
            raise ValidationError(
                "Unknown price book.",
                {"price_book": [N_("No price book named %(name)s.", name=repr(book_name))]},
            )
        data["prices"] = [{**price, "price_book_id": books.get(book_name)}]
    if existing is None:
        products.products.create(session, data)
        return True
    data.pop("sku", None)
    products.products.update(session, existing, data)
    return False


def _describe(error: ValidationError | marshmallow.ValidationError) -> str:
    messages = error.errors if isinstance(error, ValidationError) else error.normalized_messages()
    if not messages:
        return getattr(error, "detail", str(error))
    parts = []
    for name, problems in messages.items():
        text = "; ".join(str(p) for p in problems) if isinstance(problems, list) else str(problems)
        parts.append(f"{'price' if name == 'unit_price' else name}: {text}")
    return " ".join(parts)
