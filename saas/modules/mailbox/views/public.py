"""Public tracking routes under /mt/<slug>/: the open pixel and click redirects of mail written from the
CRM. No login: the signed token names the tenant and the message; a switched-off module answers 404."""

from __future__ import annotations

import base64

from flask import Response, g, redirect

from saas.db import TenantSession
from saas.modules.mailbox import tracking
from saas.modules.mailbox.blueprints import public
from saas.modules.switches import public_workspace

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    tenant = public_workspace(values, "mailbox")
    # The app commits this session once the response is a success (one transaction per request).
    g.tenant_session = TenantSession(tenant.ref)


@public.get("/o/<token>.gif")
def open_pixel(token: str):
    tracking.record_open(g.tenant_session, token)
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store, private"})


@public.get("/c/<token>")
def click(token: str):
    return redirect(tracking.record_click(g.tenant_session, token), code=302)
