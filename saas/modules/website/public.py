"""The tracking script's public routes at /w/<slug>/: the script a workspace's site includes, and the
endpoint its batches of page views go to.

No login and no cookie of ours: the visitor's random id lives in the site's own (first-party) cookie,
set by the script only after the site reports the visitor's consent. Batches are taken only from the
origins the workspace listed (CORS answers those alone), and are limited per client address and per
workspace. Errors are problem documents.
"""

from __future__ import annotations

import json

from flask import abort, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from saas.db import TenantSession
from saas.errors import SaasError
from saas.extensions import csrf, limiter
from saas.i18n import translate
from saas.modules.switches import public_workspace
from saas.modules.website import identity, site, visits
from saas.modules.website.blueprints import tracking
from saas.web.errors import problem

PREFIX = "/w/<slug>"
MAX_BODY = 64 * 1024

csrf.exempt(tracking)  # the site's page posts here; no cookie of ours decides anything


@tracking.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    if endpoint == "website_tracking.static":
        return
    g.website_tenant = public_workspace(values, "website", refusal="Website tracking is switched off.")


@tracking.errorhandler(SaasError)
def _refused(error: SaasError):
    return problem(error.status, error.title, translate(error.detail), **error.extra)


@tracking.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return problem(error.code or 500, error.name, error.description or error.name)


@tracking.after_request
def _allow_listed_origin(response):
    """CORS for the workspace's own sites only; answers without credentials (the batch needs none)."""
    origin = request.headers.get("Origin")
    if request.endpoint == "website_tracking.collect" and "website_tenant" in g and _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response


def _session() -> TenantSession:
    """The request's session for the site's tenant; the app commits it once at the end."""
    if g.get("tenant_session") is None:
        g.tenant_session = TenantSession(g.website_tenant.ref)
    return g.tenant_session


def _origin_allowed(origin: str | None) -> bool:
    """Asked by the view and again for the answer's headers: one query per request (kept in the request's
    environ, since ``g`` outlives a request when an app context was pushed around it)."""
    key = "saas.website.origin_allowed"
    if key not in request.environ:
        request.environ[key] = site.allows_origin(_session(), origin)
    return request.environ[key]


def _per_workspace() -> str:
    return f"website:{g.website_tenant.id}"


@tracking.get(f"{PREFIX}/track.js")
def script():
    """The one file a site includes; it finds the endpoint from its own address."""
    response = tracking.send_static_file("track.js")
    response.cache_control.max_age = 300
    return response


@tracking.route(f"{PREFIX}/events", methods=["POST", "OPTIONS"])
@limiter.limit(
    lambda: current_app.config.get("WEBSITE_WORKSPACE_RATE_LIMIT", "3000 per minute"),
    key_func=_per_workspace,
    methods=["POST"],
)
@limiter.limit(
    lambda: current_app.config.get("WEBSITE_EVENTS_RATE_LIMIT", "60 per minute"),
    methods=["POST"],
)
def collect():
    """A batch of page views (JSON; sent as text/plain by the script, so no preflight is needed)."""
    if request.method == "OPTIONS":
        return "", 204
    if not _origin_allowed(request.headers.get("Origin")):
        abort(403, "This site is not one of the workspace's tracked sites.")
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    try:
        data = json.loads(request.get_data(cache=False)[: MAX_BODY + 1] or b"null")
    except ValueError:
        abort(400, "Send a JSON object.")
    batch = visits.parse_batch(data, visits.now())
    mark = data.get("ident")
    if isinstance(mark, str) and (contact_id := identity.contact_of_mark(_session(), mark)) is not None:
        visits.identify_visitor(_session(), batch.visitor_id, contact_id)  # a followed email link's mark
    visits.record_batch(_session(), batch)
    return jsonify(accepted=len(batch.views)), 202
