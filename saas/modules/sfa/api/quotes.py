"""API resources of quotes: /api/v1/deals/<id>/quotes (list, create) and /api/v1/quotes/<id> (read, new
version, mark sent, PDF, the customer's link)."""

from __future__ import annotations

import uuid

from flask import Response

from saas.api import token_auth
from saas.db import db
from saas.modules.sfa import quotes
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.quote_documents import pdf_filename, render_pdf
from saas.modules.sfa.quote_links import customer_url
from saas.modules.sfa.quote_schemas import QuoteIn, QuoteLinkOut, QuoteList, QuoteOut
from saas.tenants.models import Tenant
from saas.tenants.routing import current_tenant_session


@api.get("/deals/<uuid:deal_id>/quotes")
@api.auth_required(token_auth)
@api.output(QuoteList)
@api.doc(
    summary="List a deal's quotes",
    description="Newest number first, its versions newest first.",
    responses=[404],
)
def list_deal_quotes(deal_id: uuid.UUID):
    return {"data": quotes.deal_quotes(current_tenant_session(), deal_id)}


@api.post("/deals/<uuid:deal_id>/quotes")
@api.auth_required(token_auth)
@api.input(QuoteIn)
@api.output(QuoteOut, status_code=201)
@api.doc(
    summary="Create a quote on a deal",
    description="Numbered per workspace without gaps. A line gives a `product_id` (priced from the quote's "
    "price book in its currency unless `unit_price` is given) or a `description` and a `unit_price`.",
    responses=[404, 422],
)
def create_quote(deal_id: uuid.UUID, json_data: dict):
    return quotes.create_quote(current_tenant_session(), deal_id, json_data)


@api.get("/quotes/<uuid:quote_id>")
@api.auth_required(token_auth)
@api.output(QuoteOut)
@api.doc(summary="Read a quote", responses=[404])
def get_quote(quote_id: uuid.UUID):
    return quotes.get_quote(current_tenant_session(), quote_id)


@api.post("/quotes/<uuid:quote_id>/versions")
@api.auth_required(token_auth)
@api.input(QuoteIn(partial=True))
@api.output(QuoteOut, status_code=201)
@api.doc(
    summary="Make a new version of a quote",
    description="Same number, next version; earlier open versions are superseded. What the body leaves "
    "out is kept from the quote (without `lines`, its lines).",
    responses=[404, 409, 422],
)
def new_quote_version(quote_id: uuid.UUID, json_data: dict):
    return quotes.new_version(current_tenant_session(), quote_id, json_data)


@api.post("/quotes/<uuid:quote_id>/send")
@api.auth_required(token_auth)
@api.output(QuoteOut)
@api.doc(summary="Mark a quote as sent", responses=[404])
def mark_quote_sent(quote_id: uuid.UUID):
    return quotes.mark_sent(current_tenant_session(), quote_id)


@api.get("/quotes/<uuid:quote_id>/link")
@api.auth_required(token_auth)
@api.output(QuoteLinkOut)
@api.doc(summary="The customer's signed link to a quote", responses=[404])
def quote_link(quote_id: uuid.UUID):
    session = current_tenant_session()
    quote = quotes.get_quote(session, quote_id)
    return {"url": customer_url(db.session.get(Tenant, session.tenant.id), quote)}


@api.get("/quotes/<uuid:quote_id>/pdf")
@api.auth_required(token_auth)
@api.doc(
    summary="A quote as PDF",
    description="In the customer's language (their contact's, else the workspace's).",
    responses={200: "The quote as `application/pdf`.", 404: "Not Found"},
)
def quote_pdf(quote_id: uuid.UUID):
    session = current_tenant_session()
    quote = quotes.get_quote(session, quote_id)
    headers = {"Content-Disposition": f'attachment; filename="{pdf_filename(quote)}"'}
    return Response(render_pdf(session, quote), mimetype="application/pdf", headers=headers)
