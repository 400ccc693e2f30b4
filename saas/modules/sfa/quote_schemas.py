"""Input and output schemas of products, price books and quotes; the API validates and documents with
them and the pages validate their forms with the same ones."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from saas.i18n import N_
from saas.modules.core.schemas import CleanInput, _text, list_of, page_of
from saas.modules.sfa.deal_schemas import CurrencyCode, _currency_code
from saas.modules.sfa.models import QUOTE_STATUSES

MAX_PRICE = Decimal("999999999999.9999")  # what numeric(16, 4) holds
MAX_QUANTITY = Decimal("99999999999.999")  # numeric(14, 3)


def _decimal(places: int, maximum: Decimal, *, minimum: Decimal = Decimal("0"), **kwargs) -> fields.Decimal:
    """An exact number with at most ``places`` decimals, never a float."""

    def within_places(value: Decimal) -> None:
        # Raised here rather than through error_messages: marshmallow formats those into a plain string,
        # and the page shows this one in the reader's language.
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(N_("Use a number with at most %(places)s decimal places.", places=places))

    return fields.Decimal(
        places=None,
        allow_nan=False,
        as_string=True,
        validate=[validate.Range(min=minimum, max=maximum), within_places],
        **kwargs,
    )


def percent(**kwargs) -> fields.Decimal:
    return _decimal(3, Decimal("100"), **kwargs)


def currency(**kwargs) -> CurrencyCode:
    return CurrencyCode(validate=_currency_code, **kwargs)


class PriceIn(CleanInput):
    currency = currency(required=True)
    unit_price = _decimal(4, MAX_PRICE, required=True)
    price_book_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "The default price book when left out."}
    )


class PriceOut(Schema):
    price_book_id = fields.UUID()
    currency = fields.String()
    unit_price = fields.Decimal(as_string=True)


class ProductIn(CleanInput):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = _text(10_000)
    unit = _text(30)
    tax_rate = percent(load_default=Decimal("0"), metadata={"description": "In percent (19 for 19 %)."})
    active = fields.Boolean(load_default=True)
    prices = fields.List(
        fields.Nested(PriceIn),
        load_default=None,
        metadata={"description": "Prices to set (per price book and currency); others are kept."},
    )


class ProductOut(Schema):
    id = fields.UUID()
    sku = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    tax_rate = fields.Decimal(as_string=True)
    active = fields.Boolean()
    prices = fields.List(fields.Nested(PriceOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ProductPage = page_of(ProductOut)


class ProductListQuery(CleanInput):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    active = fields.Boolean(load_default=None, metadata={"description": "Only active (or archived) ones."})


class PriceBookIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    is_default = fields.Boolean(load_default=False)


class PriceBookOut(Schema):
    id = fields.UUID()
    name = fields.String()
    is_default = fields.Boolean()


PriceBookList = list_of(PriceBookOut)


class QuoteLineIn(CleanInput):
    product_id = fields.UUID(load_default=None, allow_none=True)
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "Free text; the product's name when left out."},
    )
    quantity = _decimal(3, MAX_QUANTITY, minimum=Decimal("0.001"), load_default=Decimal("1"))
    unit_price = _decimal(
        4,
        MAX_PRICE,
        load_default=None,
        allow_none=True,
        metadata={"description": "The product's price in the quote's price book and currency when left out."},
    )
    discount_percent = percent(load_default=Decimal("0"))
    tax_rate = percent(
        load_default=None, allow_none=True, metadata={"description": "The product's when left out."}
    )


class QuoteIn(CleanInput):
    currency = currency(load_default=None, metadata={"description": "The deal's when left out."})
    contact_id = fields.UUID(load_default=None, allow_none=True)
    price_book_id = fields.UUID(load_default=None, allow_none=True)
    discount_percent = percent(load_default=Decimal("0"))
    expires_on = fields.Date(load_default=None, allow_none=True)
    terms = _text(20_000, load_default=None)
    lines = fields.List(fields.Nested(QuoteLineIn), required=True, validate=validate.Length(min=1, max=200))


class QuoteLineOut(Schema):
    position = fields.Integer()
    product_id = fields.UUID(allow_none=True)
    description = fields.String()
    unit = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    discount_percent = fields.Decimal(as_string=True)
    tax_rate = fields.Decimal(as_string=True)
    net_amount = fields.Decimal(as_string=True)


class QuoteOut(Schema):
    id = fields.UUID()
    deal_id = fields.UUID()
    contact_id = fields.UUID(allow_none=True)
    price_book_id = fields.UUID(allow_none=True)
    number = fields.Integer()
    version = fields.Integer()
    reference = fields.String(metadata={"description": "Q-00042, or Q-00042-v2 from the second version on."})
    status = fields.String(validate=validate.OneOf(QUOTE_STATUSES))
    currency = fields.String()
    discount_percent = fields.Decimal(as_string=True)
    expires_on = fields.Date(allow_none=True)
    terms = fields.String(allow_none=True)
    subtotal = fields.Decimal(as_string=True)
    discount_amount = fields.Decimal(as_string=True)
    tax_amount = fields.Decimal(as_string=True)
    total = fields.Decimal(as_string=True)
    responded_at = fields.DateTime(allow_none=True)
    responder_name = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineOut))
    created_at = fields.DateTime()


QuoteList = list_of(QuoteOut)


class QuoteLinkOut(Schema):
    url = fields.String(
        metadata={"description": "The customer's signed link: view, download, accept, decline."}
    )
