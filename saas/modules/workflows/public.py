"""The open pixel of workflow emails (no login: the signed token names the workspace and the email)."""

from __future__ import annotations

from flask import Response, g

from saas.db import TenantSession
from saas.modules.marketing.public import NO_STORE, PIXEL
from saas.modules.switches import public_workspace
from saas.modules.workflows import emails
from saas.modules.workflows.blueprints import public


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    tenant = public_workspace(values, "workflows")
    # The app commits this session once the response is a success (one transaction per request).
    g.tenant_session = TenantSession(tenant.ref)


@public.get("/o/<token>.gif")
def open_pixel(token: str):
    emails.record_open(g.tenant_session, token)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)
