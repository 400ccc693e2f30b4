"""Public routes under /q/<slug>/: the customer's page of a quote, its PDF, and their answer.

No login: the signed link (saas.modules.sfa.quote_links) is the key to one quote of one workspace. The
page speaks the customer's language; answers come from anyone holding the link, so they are rate-limited
per client address and recorded with the typed name, the time and the address.
"""

from __future__ import annotations

from flask import Response, current_app, g, redirect, render_template, request, url_for

from saas.db import TenantSession
from saas.errors import Conflict, ValidationError
from saas.extensions import limiter
from saas.i18n import use_audience_locale
from saas.modules.privacy.audit import commit_audit_with_response
from saas.modules.sfa import quotes
from saas.modules.sfa.blueprints import public
from saas.modules.sfa.quote_documents import document_context, pdf_filename, render_pdf
from saas.modules.sfa.quote_links import quote_from_link
from saas.modules.switches import public_workspace

NO_STORE = {"Cache-Control": "no-store, private"}
# The acceptance's audit entry is on the platform session: committed only with a successful answer.
public.after_request(commit_audit_with_response)


def _rate_limit() -> str:
    return current_app.config.get("QUOTE_LINK_RATE_LIMIT", "10 per minute;60 per hour")


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    tenant = public_workspace(values, "sfa")
    g.public_tenant = tenant
    use_audience_locale(tenant)
    g.tenant_session = TenantSession(tenant.ref)


@public.url_defaults
def _add_slug(endpoint: str, values: dict) -> None:
    if "public_tenant" in g and "slug" not in values:
        values["slug"] = g.public_tenant.slug


def _quote(token: str):
    session: TenantSession = g.tenant_session
    quote = quote_from_link(session, token)
    contact = quotes.quote_contact(session, quote)
    use_audience_locale(g.public_tenant, contact.preferred_locale if contact else None)
    return session, quote


def _page(token: str, *, errors: dict | None = None, status: int = 200):
    session, quote = _quote(token)
    page = render_template(
        "sfa/quote_public.html",
        tenant=g.public_tenant,
        token=token,
        errors=errors or {},
        can_respond=quotes.can_respond(quote),
        **document_context(session, quote),
    )
    return Response(page, status=status, headers=NO_STORE)


@public.get("/<token>")
@limiter.limit(_rate_limit)
def view_quote(token: str):
    return _page(token)


@public.get("/<token>/pdf")
@limiter.limit(_rate_limit)
def quote_pdf(token: str):
    session, quote = _quote(token)
    headers = {**NO_STORE, "Content-Disposition": f'inline; filename="{pdf_filename(quote)}"'}
    return Response(render_pdf(session, quote), mimetype="application/pdf", headers=headers)


@public.post("/<token>/accept")
@limiter.limit(_rate_limit)
def accept_quote(token: str):
    return _answer(token, accept=True)


@public.post("/<token>/decline")
@limiter.limit(_rate_limit)
def decline_quote(token: str):
    return _answer(token, accept=False)


def _answer(token: str, *, accept: bool):
    session, quote = _quote(token)
    answer = quotes.Response(
        accept=accept,
        name=request.form.get("name", ""),
        ip=request.remote_addr,
        reason=request.form.get("reason"),
    )
    try:
        quotes.respond(session, quote.id, answer)
    except ValidationError as error:
        return _page(token, errors=error.errors, status=422)
    except Conflict:
        return _page(token, status=409)
    return redirect(url_for("sfa_public.view_quote", token=token), 303)
