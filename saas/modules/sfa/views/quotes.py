"""Quote pages: a deal's new quote (/t/<slug>/deals/<id>/quotes/new), a quote's page with its PDF, the
customer's link, "mark sent" and "new version", and the quote settings (owners and admins)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from saas.db import db
from saas.errors import Conflict, ValidationError
from saas.i18n import translate
from saas.modules.core.models import Contact
from saas.modules.core.views.records import load_form
from saas.modules.settings import ADMIN_ROLES
from saas.modules.sfa import products, quotes
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Product
from saas.modules.sfa.quote_documents import MONEY_FORMATS, document_context, pdf_filename, render_pdf
from saas.modules.sfa.quote_links import customer_url
from saas.modules.sfa.quote_schemas import QuoteIn
from saas.tenants.models import Tenant
from saas.tenants.routing import current_tenant_session, require_role

FORM_LINES = 8
"""Line rows on the new-quote form; empty rows are left out."""
LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "discount_percent", "tax_rate")
QUOTE_FIELDS = ("currency", "contact_id", "price_book_id", "discount_percent", "expires_on", "terms")
PRODUCT_CHOICES = 500


@pages.context_processor
def _money_formats() -> dict[str, Any]:
    return MONEY_FORMATS


def _posted_quote() -> dict[str, Any]:
    """The form's quote as ``QuoteIn`` takes it: rows with neither a product nor a description are blank."""
    data: dict[str, Any] = {
        name: request.form[name] for name in QUOTE_FIELDS if request.form.get(name, "").strip()
    }
    lines = []
    for index in range(FORM_LINES):
        line = {name: request.form.get(f"lines-{index}-{name}", "") for name in LINE_FIELDS}
        if line["product_id"].strip() or line["description"].strip():
            lines.append({name: value for name, value in line.items() if value.strip()})
    data["lines"] = lines
    return data


def _form_page(deal_id: uuid.UUID, *, values: dict | None = None, message: str | None = None,
               errors: dict | None = None):  # fmt: skip
    session = current_tenant_session()
    deal = deals.get(session, deal_id)
    contacts = list(session.scalars(select(Contact).where(Contact.id.in_(deal.contact_ids))))
    offered = session.scalars(
        select(Product).where(Product.active).order_by(Product.sort_name, Product.id).limit(PRODUCT_CHOICES)
    )
    return render_template(
        "sfa/quote_form.html",
        deal=deal,
        contacts=contacts,
        products=list(offered),
        books=products.list_price_books(session),
        line_count=FORM_LINES,
        values=values or {"currency": deal.currency},
        message=message,
        errors=errors or {},
    )


@pages.route("/deals/<uuid:deal_id>/quotes/new", methods=["GET", "POST"])
def new_quote(deal_id: uuid.UUID):
    if request.method == "GET":
        return _form_page(deal_id)
    values = request.form.to_dict()
    try:
        data = load_form(QuoteIn(), _posted_quote(), gettext("Please correct the quote."))
        quote = quotes.create_quote(current_tenant_session(), deal_id, data)
    except ValidationError as error:
        return _form_page(deal_id, values=values, message=error.detail, errors=_flat(error.errors)), 422
    flash(gettext("Quote %(reference)s created.", reference=quote.reference))
    return redirect(url_for("sfa.show_quote", quote_id=quote.id), 303)


def _flat(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """Nested marshmallow messages ({"lines": {0: {"quantity": [...]}}}) as form names (lines-0-quantity)."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = f"{prefix}-{key}" if prefix else str(key).replace(".", "-")
        if isinstance(value, dict):
            flat |= _flat(value, name)
        else:
            flat[name] = value if isinstance(value, list) else [str(value)]
    return flat


@pages.route("/quotes/<uuid:quote_id>")
def show_quote(quote_id: uuid.UUID):
    session = current_tenant_session()
    quote = quotes.get_quote(session, quote_id)
    versions = [q for q in quotes.deal_quotes(session, quote.deal_id) if q.number == quote.number]
    return render_template(
        "sfa/quote_detail.html",
        versions=versions,
        link=customer_url(db.session.get(Tenant, session.tenant.id), quote),
        can_respond=quotes.can_respond(quote),
        **document_context(session, quote),
    )


@pages.route("/quotes/<uuid:quote_id>/pdf")
def quote_pdf(quote_id: uuid.UUID):
    session = current_tenant_session()
    quote = quotes.get_quote(session, quote_id)
    headers = {"Content-Disposition": f'inline; filename="{pdf_filename(quote)}"'}
    return Response(render_pdf(session, quote), mimetype="application/pdf", headers=headers)


@pages.route("/quotes/<uuid:quote_id>/versions", methods=["POST"])
def new_quote_version(quote_id: uuid.UUID):
    try:
        quote = quotes.new_version(current_tenant_session(), quote_id)
    except Conflict as error:
        flash(translate(error.detail))
        return redirect(url_for("sfa.show_quote", quote_id=quote_id), 303)
    flash(gettext("Version %(reference)s created; the earlier one is superseded.", reference=quote.reference))
    return redirect(url_for("sfa.show_quote", quote_id=quote.id), 303)


@pages.route("/quotes/<uuid:quote_id>/send", methods=["POST"])
def mark_quote_sent(quote_id: uuid.UUID):
    quotes.mark_sent(current_tenant_session(), quote_id)
    flash(gettext("Marked as sent."))
    return redirect(url_for("sfa.show_quote", quote_id=quote_id), 303)


@pages.route("/deals/<uuid:deal_id>/amount-follows-quote", methods=["POST"])
def set_amount_follows_quote(deal_id: uuid.UUID):
    follows = request.form.get("follows") == "1"
    deals.update(current_tenant_session(), deal_id, {"amount_follows_quote": follows})
    flash(gettext("Saved."))
    return redirect(url_for("sfa.show_deals", record_id=deal_id, _anchor="quotes-title"), 303)


@pages.route("/settings/quotes", methods=["GET", "POST"])
def quote_settings():
    require_role(*ADMIN_ROLES)
    session = current_tenant_session()
    if request.method == "POST":
        quotes.set_acceptance_wins_deal(session, request.form.get("acceptance_wins_deal") == "1")
        flash(gettext("Quote settings saved."))
        return redirect(url_for("sfa.quote_settings"), 303)
    return render_template("sfa/quote_settings.html", wins=quotes.acceptance_wins_deal(session))
