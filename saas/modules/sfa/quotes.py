"""Quotes on deals: priced lines (from products or free text), discounts per line and on the whole,
taxes per rate, a currency, an expiry date and terms; numbered per workspace without gaps, and versioned.

Money is ``Decimal`` throughout, rounded half-up to the cent (``numeric(14, 2)``) at three points only:
each line's net amount, the discount on the whole, and the tax of each rate (on the rate's lines after
that discount). Subtotal and total are sums of those rounded figures, so the document adds up.

Numbers come from one counter row locked ``FOR UPDATE`` in the quote's own transaction: a quote that
rolls back gives its number back, and two at once wait for each other, so numbers have no gaps and no
duplicates. Quotes are never deleted (a gap would open); a new version keeps the number.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from saas.audit import record_audit
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_, Phrase
from saas.modules.core.activities import acting_user_id, record_event
from saas.modules.core.models import Contact
from saas.modules.core.workspace_settings import change_setting, setting
from saas.modules.sfa import products
from saas.modules.sfa.deals import DEAL_SUBJECT, deals
from saas.modules.sfa.models import (
    Deal,
    PriceBook,
    Product,
    Quote,
    QuoteCounter,
    QuoteLine,
    QuoteSettings,
    Stage,
)
from saas.webhooks.events import emit, record_payload

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
OPEN_STATUSES = ("draft", "sent")
"""A quote the customer may still accept or decline."""


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_amount: Decimal
    taxes: dict[Decimal, Decimal]
    """Tax per rate (in percent), in rate order."""
    total: Decimal

    @property
    def tax_amount(self) -> Decimal:
        return sum(self.taxes.values(), Decimal("0"))


def line_net(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    return to_cents(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED)


def totals(lines: list[QuoteLine], discount_percent: Decimal) -> Totals:
    """The quote's figures from its lines' net amounts and tax rates (see the module's rounding rule)."""
    subtotal = sum((line.net_amount for line in lines), Decimal("0"))
    discount_amount = to_cents(subtotal * discount_percent / HUNDRED)
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[Decimal(line.tax_rate).normalize()] += line.net_amount
    taxes = {
        rate: to_cents(base * (HUNDRED - discount_percent) / HUNDRED * rate / HUNDRED)
        for rate, base in sorted(by_rate.items())
        if rate
    }
    total = subtotal - discount_amount + sum(taxes.values(), Decimal("0"))
    return Totals(subtotal, discount_amount, taxes, total)


def take_quote_number(session: TenantSession) -> int:
    """The next number, taken in the caller's transaction (row lock held until it ends)."""
    session.execute(insert(QuoteCounter).values(id=1, next_number=1).on_conflict_do_nothing())
    counter = session.scalars(select(QuoteCounter).where(QuoteCounter.id == 1).with_for_update()).one()
    number = counter.next_number
    counter.next_number = number + 1
    session.flush()
    return number


# Reading


def get_quote(session: TenantSession, quote_id: uuid.UUID) -> Quote:
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(N_("No quote with id %(id)s.", id=quote_id))
    return quote


def deal_quotes(session: TenantSession, deal_id: uuid.UUID) -> list[Quote]:
    """A deal's quotes, newest number first, each number's versions newest first."""
    deals.get(session, deal_id)
    return list(
        session.scalars(
            select(Quote).where(Quote.deal_id == deal_id).order_by(Quote.number.desc(), Quote.version.desc())
        )
    )


def quote_contact(session: TenantSession, quote: Quote) -> Contact | None:
    return session.get(Contact, quote.contact_id) if quote.contact_id else None


def is_expired(quote: Quote, today: date | None = None) -> bool:
    """Past its expiry date (a UTC calendar day: the quote is good through the whole expiry day)."""
    today = today or datetime.now(UTC).date()
    return quote.expires_on is not None and quote.expires_on < today


def can_respond(quote: Quote) -> bool:
    return quote.status in OPEN_STATUSES and not is_expired(quote)


# Writing


def create_quote(session: TenantSession, deal_id: uuid.UUID, data: dict[str, Any]) -> Quote:
    """A new quote on the deal, with the next number, as a draft."""
    deal = deals.get(session, deal_id)
    quote = _priced_quote(session, deal, data)
    quote.number = take_quote_number(session)
    quote.version = 1
    session.add(quote)
    session.flush()
    record_event(
        session, Phrase(N_("Quote %(quote)s created"), {"quote": quote.reference}),
        body=f"{quote.currency} {quote.total}",
        account_id=deal.account_id, subject_type=DEAL_SUBJECT, subject_id=deal.id,
    )  # fmt: skip
    return quote


def new_version(session: TenantSession, quote_id: uuid.UUID, data: dict[str, Any] | None = None) -> Quote:
    """The next version of a quote: the same number, the given changes over a copy of it, and every
    earlier version that was still open superseded (its link can no longer accept it)."""
    previous = get_quote(session, quote_id)
    versions = list(session.scalars(select(Quote).where(Quote.number == previous.number).with_for_update()))
    if any(version.status == "accepted" for version in versions):
        raise Conflict("This quote was accepted: start a new quote instead.")
    # What the changes leave out is kept from the version before (its currency, terms, lines...).
    data = {**_as_input(previous), **(data or {})}
    deal = deals.get(session, previous.deal_id)
    quote = _priced_quote(session, deal, data)
    quote.number = previous.number
    quote.version = max(version.version for version in versions) + 1
    for version in versions:
        if version.status in OPEN_STATUSES:
            version.status = "superseded"
    session.add(quote)
    session.flush()
    return quote


def mark_sent(session: TenantSession, quote_id: uuid.UUID) -> Quote:
    quote = get_quote(session, quote_id)
    if quote.status == "draft":
        quote.status = "sent"
        session.flush()
    return quote


@dataclass(frozen=True)
class Response:
    """The customer's answer through their link."""

    accept: bool
    name: str
    ip: str | None
    reason: str | None = None


def respond(session: TenantSession, quote_id: uuid.UUID, answer: Response) -> Quote:
    """Accept or decline an open, unexpired quote; acceptance may win the deal and set its amount.

    The quote row is locked first, so two answers at once (or an answer racing a new version) are
    decided one after the other: the second finds the quote no longer open.
    """
    quote = session.scalars(select(Quote).where(Quote.id == quote_id).with_for_update()).one_or_none()
    if quote is None:
        raise NotFound("No such quote.")
    if not can_respond(quote):
        raise Conflict("This quote can no longer be answered.", reason=_closed_reason(quote))
    name = (answer.name or "").strip()
    if answer.accept and not name:
        raise ValidationError("Type your name to accept.", {"name": ["Type your full name."]})
    quote.status = "accepted" if answer.accept else "declined"
    quote.responded_at = datetime.now(UTC)
    quote.responder_name = name[:200] or None
    quote.responder_ip = answer.ip
    quote.decline_reason = None if answer.accept else ((answer.reason or "").strip()[:500] or None)
    session.flush()
    deal = session.get(Deal, quote.deal_id)
    verb = "accepted" if answer.accept else "declined"
    record_event(
        session, _answer_phrase(quote, answer.accept),
        body=quote.decline_reason, account_id=deal.account_id, subject_type=DEAL_SUBJECT, subject_id=deal.id,
    )  # fmt: skip
    # Identifiers and figures only: the audit log outlives an erasure of the person (the IP is its own).
    record_audit(
        db.session, f"quote.{verb}", actor=f"quote_link:{quote.id}", tenant_id=session.tenant.id,
        target=f"quote:{quote.id}",
        details={"reference": quote.reference, "total": str(quote.total), "currency": quote.currency},
    )  # fmt: skip
    if answer.accept:
        _follow_acceptance(session, quote, deal)
        emit(session, "quote.accepted", record_payload(quote))
    return quote


def _closed_reason(quote: Quote) -> str:
    if quote.status in OPEN_STATUSES:
        return "expired"
    return quote.status


def _follow_acceptance(session: TenantSession, quote: Quote, deal: Deal) -> None:
    if deal.amount_follows_quote:
        deal.amount, deal.currency = quote.total, quote.currency
        session.flush()
    if deal.status != "won" and acceptance_wins_deal(session):
        won = session.scalar(
            select(Stage)
            .where(Stage.pipeline_id == deal.pipeline_id, Stage.kind == "won")
            .order_by(Stage.position)
            .limit(1)
        )
        if won is not None:
            deals.move(session, deal.id, won.id)


def _priced_quote(session: TenantSession, deal: Deal, data: dict[str, Any]) -> Quote:
    """A quote (not added) with its lines priced and its figures computed."""
    currency = data.get("currency") or deal.currency
    book_id = data.get("price_book_id") or products.default_price_book(session).id
    if data.get("price_book_id") and session.get(PriceBook, book_id) is None:
        raise ValidationError("Unknown price book.", {"price_book_id": ["No price book with this id."]})
    contact_id = data.get("contact_id")
    if contact_id is None and deal.contact_ids:
        contact_id = deal.contact_ids[0]
    elif contact_id is not None and session.get(Contact, contact_id) is None:
        raise ValidationError("Unknown contact.", {"contact_id": ["No contact with this id."]})
    quote = Quote(
        deal_id=deal.id,
        contact_id=contact_id,
        price_book_id=book_id,
        status="draft",
        currency=currency,
        discount_percent=data.get("discount_percent") or Decimal("0"),
        expires_on=data.get("expires_on"),
        terms=data.get("terms"),
        created_by_user_id=acting_user_id(session),
    )
    quote.lines = [
        _priced_line(session, position, line, book_id, currency)
        for position, line in enumerate(data["lines"])
    ]
    figures = totals(quote.lines, quote.discount_percent)
    quote.subtotal, quote.discount_amount = figures.subtotal, figures.discount_amount
    quote.tax_amount, quote.total = figures.tax_amount, figures.total
    return quote


def _priced_line(
    session: TenantSession, position: int, data: dict[str, Any], book_id: uuid.UUID, currency: str
) -> QuoteLine:
    def refuse(field: str, message: str) -> ValidationError:
        detail = N_("Line %(line)s: %(problem)s", line=position + 1, problem=message)
        return ValidationError(detail, {f"lines.{position}.{field}": [message]})

    product = None
    if data.get("product_id"):
        product = session.get(Product, data["product_id"])
        if product is None:
            raise refuse("product_id", "No product with this id.")
    description = data.get("description") or (product.name if product else None)
    if not description:
        raise refuse("description", "Choose a product or describe the line.")
    price = data.get("unit_price")
    if price is None and product is not None:
        price = products.unit_price(session, product.id, book_id, currency)
    if price is None:
        raise refuse("unit_price", N_("No price in %(currency)s for this line: give one.", currency=currency))
    tax_rate = data.get("tax_rate")
    if tax_rate is None:
        tax_rate = product.tax_rate if product else Decimal("0")
    quantity = data.get("quantity") or Decimal("1")
    discount = data.get("discount_percent") or Decimal("0")
    return QuoteLine(
        position=position,
        product_id=product.id if product else None,
        description=description[:500],
        unit=product.unit if product else None,
        quantity=quantity,
        unit_price=price,
        discount_percent=discount,
        tax_rate=tax_rate,
        net_amount=line_net(quantity, price, discount),
    )


def _as_input(quote: Quote) -> dict[str, Any]:
    """A quote as ``create_quote`` takes it: the copy a new version starts from."""
    return {
        "currency": quote.currency,
        "contact_id": quote.contact_id,
        "price_book_id": quote.price_book_id,
        "discount_percent": quote.discount_percent,
        "expires_on": quote.expires_on,
        "terms": quote.terms,
        "lines": [
            {
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
            }
            for line in quote.lines
        ],
    }


# Settings


def acceptance_wins_deal(session: TenantSession) -> bool:
    return setting(session, QuoteSettings, "acceptance_wins_deal", True)


def set_acceptance_wins_deal(session: TenantSession, value: bool) -> bool:
    return change_setting(
        session, QuoteSettings, "acceptance_wins_deal", value, action="quotes.settings_changed", default=True
    )


def _answer_phrase(quote: Quote, accepted: bool) -> Phrase:
    """The timeline's entry for a customer's answer, naming them when they gave a name."""
    values = {"quote": quote.reference, "name": quote.responder_name}
    if quote.responder_name:
        message = (
            N_("Quote %(quote)s accepted by %(name)s")
            if accepted
            else N_("Quote %(quote)s declined by %(name)s")
        )
    else:
        message = (
            N_("Quote %(quote)s accepted by the customer")
            if accepted
            else N_("Quote %(quote)s declined by the customer")
        )
    return Phrase(message, values)
