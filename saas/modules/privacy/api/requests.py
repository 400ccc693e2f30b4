"""``/api/v1/privacy/requests``: privacy requests (access, erasure, rectification...)."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.privacy import requests
from saas.modules.privacy.audit import api_actor as _actor
from saas.modules.privacy.blueprints import api
from saas.modules.privacy.schemas import RequestIn, RequestList, RequestOut
from saas.tenants.routing import current_tenant_session, require_role


@api.get("/privacy/requests")
@api.auth_required(token_auth)
@api.output(RequestList)
@api.doc(summary="Data subject requests, most urgent first (owners and admins)", responses=[403])
def list_privacy_requests():
    require_role("owner", "admin")
    return {"data": requests.list_requests(current_tenant_session())}


@api.post("/privacy/requests")
@api.auth_required(token_auth)
@api.input(RequestIn)
@api.output(RequestOut, status_code=201)
@api.doc(
    summary="Open a data subject request on someone's behalf (owners and admins)", responses=[403, 404, 422]
)
def open_privacy_request(json_data: dict):
    require_role("owner", "admin")
    return requests.open_request(current_tenant_session(), channel="api", actor=_actor(), **json_data)


@api.get("/privacy/requests/<uuid:request_id>")
@api.auth_required(token_auth)
@api.output(RequestOut)
@api.doc(summary="One data subject request", responses=[403, 404])
def get_privacy_request(request_id: uuid.UUID):
    require_role("owner", "admin")
    return requests.get_request(current_tenant_session(), request_id)
