"""A quote as the customer reads it: the online page and the PDF (WeasyPrint) share one body, rendered
in the customer's language (their contact's preferred one, else the workspace's) and, for Persian, right
to left. Fonts: the Noto families (Latin, Cyrillic, CJK, Arabic script) from the system's fontconfig.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel import numbers
from flask import render_template
from flask_babel import format_decimal, get_locale

from saas.db import TenantSession, db
from saas.i18n import format_money, in_locale
from saas.modules.sfa import quotes
from saas.modules.sfa.models import Deal, Quote
from saas.tenants.language import recipient_locale
from saas.tenants.models import Tenant


def document_locale(session: TenantSession, quote: Quote) -> str | None:
    """The customer's language: their contact's preferred one, else the workspace's."""
    contact = quotes.quote_contact(session, quote)
    return recipient_locale(contact.preferred_locale if contact else None, session.tenant.id)


def number(value: Decimal) -> str:
    """A quantity or rate as the reader writes it, with as many decimals as it has (``7.5``, ``1,5``)."""
    return format_decimal(value, format="#,##0.###")


def percent(value: Decimal) -> str:
    return number(value) + "%"


def unit_money(amount: Decimal, currency: str) -> str:
    """A unit price with the decimals it has beyond the cents (``€10.005``), in the reader's locale."""
    value = Decimal(amount).normalize()
    return numbers.format_currency(value, currency, locale=get_locale(), decimal_quantization=False)


MONEY_FORMATS = {"local_money": format_money, "unit_money": unit_money}
"""Templates' money in the reader's locale (``local_money`` is also an app-wide filter; the ``money``
filter is billing's, in minor units)."""


def document_context(session: TenantSession, quote: Quote) -> dict[str, Any]:
    return {
        "quote": quote,
        "figures": quotes.totals(quote.lines, quote.discount_percent),
        "deal": session.get(Deal, quote.deal_id),
        "contact": quotes.quote_contact(session, quote),
        "seller": db.session.get(Tenant, session.tenant.id).name,
        "expired": quotes.is_expired(quote),
        "percent": percent,
        "number": number,
        **MONEY_FORMATS,
    }


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    # The document needs nothing from outside; text typed into a quote must never make the server fetch.
    raise ValueError(f"quote documents load no resources ({url!r})")


def render_pdf(session: TenantSession, quote: Quote) -> bytes:
    """The quote's PDF in the customer's language."""
    # Imported here: WeasyPrint loads Pango on import, and only PDFs need it (not every process).
    from weasyprint import HTML

    with in_locale(document_locale(session, quote)):
        page = render_template("sfa/quote_document.html", **document_context(session, quote))
    return HTML(string=page, url_fetcher=_refuse_fetch).write_pdf()


def pdf_filename(quote: Quote) -> str:
    return f"{quote.reference}.pdf"
