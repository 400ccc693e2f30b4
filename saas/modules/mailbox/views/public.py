"""Public tracking routes under /mt/<slug>/: the open pixel and click redirects of mail written from the
CRM. No login: the signed token names the tenant and the message; a switched-off module answers 404.
And the OAuth providers' shared redirect address, which only sends the member on to their workspace."""

from __future__ import annotations

import base64

from flask import Response, abort, g, redirect, request, url_for

from saas.db import TenantSession
from saas.modules.mailbox import tracking
from saas.modules.mailbox.blueprints import public
from saas.modules.mailbox.views import oauth as oauth_views
from saas.modules.switches import public_workspace

ANSWER_PARAMETERS = ("code", "state", "error", "error_description")
"""What an authorization response carries (RFC 6749 4.1.2); nothing else is passed on."""
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    if endpoint == "mailbox_public.oauth_callback":
        return  # its workspace is the one the member started from, kept in their session
    tenant = public_workspace(values, "mailbox")
    # The app commits this session once the response is a success (one transaction per request).
    g.tenant_session = TenantSession(tenant.ref)


@public.get("/mt/<slug>/o/<token>.gif")
def open_pixel(token: str):
    tracking.record_open(g.tenant_session, token)
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store, private"})


@public.get("/mt/<slug>/c/<token>")
def click(token: str):
    return redirect(tracking.record_click(g.tenant_session, token), code=302)


@public.get("/mailbox/oauth/callback")
def oauth_callback():
    """Where providers send a member back: on to their workspace's page that finishes the connection."""
    slug = oauth_views.pending_slug()
    if slug is None:
        abort(404)
    answer = {key: request.args[key] for key in ANSWER_PARAMETERS if key in request.args}
    return redirect(url_for("mailbox.oauth_finish", slug=slug, **answer))
