"""Public tracking routes under /mt/<slug>/: the open pixel and click redirects of mail written from the
CRM. No login: the signed token names the tenant and the message; a switched-off module answers 404."""

from __future__ import annotations

import base64

from flask import Response, abort, g, redirect
from sqlalchemy import select

from saas.db import TenantSession, db
from saas.modules.mailbox import tracking
from saas.modules.mailbox.blueprints import public
from saas.modules.switches import ModuleDisabled, is_module_enabled
from saas.tenants.models import Tenant

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    slug = (values or {}).pop("slug", None)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug)) if slug else None
    if tenant is None:
        abort(404)
    if not is_module_enabled(db.session, tenant.id, "mailbox"):
        raise ModuleDisabled("Not found.")
    # The app commits this session once the response is a success (one transaction per request).
    g.tenant_session = TenantSession(tenant.ref)


@public.get("/o/<token>.gif")
def open_pixel(token: str):
    tracking.record_open(g.tenant_session, token)
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store, private"})


@public.get("/c/<token>")
def click(token: str):
    return redirect(tracking.record_click(g.tenant_session, token), code=302)
