"""The customer's signed link to a quote: it names its tenant and quote inside an itsdangerous signature
(its own salt), so it opens that one quote of that one workspace and nothing else. It stays valid for
LINK_SECONDS; whether the quote can still be accepted is the quote's own business (expiry, versions).
"""

from __future__ import annotations

import uuid

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from saas.db import TenantSession
from saas.errors import NotFound
from saas.modules.sfa.models import Quote
from saas.tenants.models import Tenant

LINK_SECONDS = 180 * 24 * 3600
_SALT = "sfa-quote-link"


class QuoteLinkRefused(NotFound):
    """Tampered, expired or another workspace's: one plain 404, so nothing is revealed."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_quote_token(tenant_id: str, quote_id: uuid.UUID) -> str:
    return _serializer().dumps({"t": tenant_id, "q": str(quote_id)})


def read_quote_token(token: str, tenant_id: str) -> uuid.UUID:
    """The quote a genuine, unexpired link for ``tenant_id`` names; else :class:`QuoteLinkRefused`."""
    try:
        data = _serializer().loads(token, max_age=LINK_SECONDS)
        link_tenant, quote_id = data["t"], uuid.UUID(data["q"])
    except (BadData, KeyError, TypeError, ValueError):
        raise QuoteLinkRefused("No such quote.") from None
    if link_tenant != tenant_id:
        raise QuoteLinkRefused("No such quote.")
    return quote_id


def quote_from_link(session: TenantSession, token: str) -> Quote:
    quote = session.get(Quote, read_quote_token(token, session.tenant.id))
    if quote is None:
        raise QuoteLinkRefused("No such quote.")
    return quote


def customer_url(tenant: Tenant, quote: Quote) -> str:
    """The absolute link to give the customer."""
    token = make_quote_token(tenant.id, quote.id)
    return url_for("sfa_public.view_quote", slug=tenant.slug, token=token, _external=True)
