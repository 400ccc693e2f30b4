"""REST API v1: bearer-token authentication that binds the request to the token's tenant.

Every API request passes one place, :func:`_verify_token`: the token (personal or OAuth2) is looked up,
its scope checked against the URL's resource and method, its rate limit counted, the tenant bound, and
the view's declared member roles checked, then the request's ``If-Match`` and ``Idempotency-Key`` handled
(in that order: nothing answers for a view before its own authorisation has passed). Resources only declare
``auth_required(token_auth)``; nothing else is needed for a new resource to be protected.
"""

from __future__ import annotations

import os

from apiflask import APIBlueprint, HTTPTokenAuth
from flask import Flask, current_app, g, request
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from saas.api.access import (
    API_PREFIX,
    InsufficientScope,
    authenticate_bearer,
    enforce_declared_roles,
    required_scope,
)
from saas.api.last_used import last_used_recorder
from saas.db import db
from saas.tenants.routing import bind_request_to_tenant

__all__ = ["API_PREFIX", "api_blueprint", "token_auth"]


token_auth = HTTPTokenAuth(
    scheme="Bearer",
    description="A personal API token (`saas tokens create`) or an OAuth2 access token "
    "(client credentials at `POST /api/v1/oauth/token`). Each operation needs the scope "
    "`<resource>:read` (GET) or `<resource>:write` (other methods).",
)


@token_auth.verify_token
def _verify_token(secret: str):
    from saas.api import conventions, ratelimit

    if g.get(conventions.RENDERING_CURRENT):  # re-entered by the GET an If-Match check renders
        return g.api_principal.user
    # The address's and the credential's limits and the cached credential's check: one Redis round trip.
    principal = authenticate_bearer(db.session, secret, ratelimit.take_deferred_ip_hits())
    if principal is None:
        return None
    scope = required_scope(request.url_rule.rule if request.url_rule else request.path, request.method)
    if not principal.allows(scope):
        raise InsufficientScope(scope)
    if principal.kind == "token":
        last_used_recorder().note(principal.id)  # written in batches, not per request
    bind_request_to_tenant(principal.membership.ref, principal.membership)
    g.api_principal = principal
    enforce_declared_roles(current_app.view_functions.get(request.endpoint))
    conventions.check_if_match()
    conventions.begin_idempotent_request(principal)
    return principal.user


@token_auth.error_processor
def _token_refused(error):
    from saas.web.errors import problem

    response = problem(
        error.status_code, error.message, "A valid `Authorization: Bearer <token>` header is required."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def api_blueprint(name: str, import_name: str, tag: str) -> APIBlueprint:
    """A blueprint of API resources under ``/api/v1``; every route must use ``@auth_required(token_auth)``."""
    blueprint = APIBlueprint(name, import_name, tag=tag, url_prefix=API_PREFIX)
    # Whichever API blueprint the app registers first installs the API-wide machinery once.
    blueprint.record_once(lambda state: install_api_integration(state.app))
    return blueprint


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in {"1", "true", "yes", "on"}


def _configure(app: Flask) -> None:
    settings = app.config.get("SAAS_SETTINGS")
    testing = getattr(settings, "environment", "production") == "test"
    env = os.environ.get
    # Loopback webhook receivers only where tests run them; never in production by default.
    app.config.setdefault("WEBHOOKS_ALLOW_LOOPBACK", _env_flag("WEBHOOKS_ALLOW_LOOPBACK", testing))
    app.config.setdefault("WEBHOOK_RETRY_BASE_SECONDS", int(env("WEBHOOK_RETRY_BASE_SECONDS", "30")))
    app.config.setdefault("WEBHOOK_MAX_RETRIES", int(env("WEBHOOK_MAX_RETRIES", "5")))
    app.config.setdefault("WEBHOOK_DISABLE_AFTER", int(env("WEBHOOK_DISABLE_AFTER", "5")))
    # Receivers' certificates are checked against this bundle: the one requests trusts (certifi's).
    app.config.setdefault("WEBHOOK_CA_BUNDLE", env("WEBHOOK_CA_BUNDLE", DEFAULT_CA_BUNDLE_PATH))
    app.config.setdefault("API_TOKEN_LIFETIME_SECONDS", int(env("API_TOKEN_LIFETIME_SECONDS", "900")))
    # Proxies in front of the app: TRUSTED_PROXY_HOPS (or API_TRUSTED_PROXIES), read by saas.config.
    app.config.setdefault("API_IDEMPOTENCY_SECONDS", int(env("API_IDEMPOTENCY_SECONDS", "86400")))
    # Revocation reaches every process through Redis at once; the TTL bounds a change made outside the app.
    app.config.setdefault("API_CREDENTIAL_CACHE_SECONDS", float(env("API_CREDENTIAL_CACHE_SECONDS", "5")))
    app.config.setdefault("API_LAST_USED_SECONDS", float(env("API_LAST_USED_SECONDS", "60")))
    # JSON bodies: the largest API input is a record with its custom fields, far below these.
    app.config.setdefault("API_MAX_BODY_BYTES", int(env("API_MAX_BODY_BYTES", str(1024 * 1024))))
    app.config.setdefault("API_MAX_JSON_DEPTH", int(env("API_MAX_JSON_DEPTH", "32")))
    # The whole test suite calls the API from one address: generous there, tests of limits set their own.
    app.config.setdefault(
        "API_RATE_LIMIT_PER_TOKEN",
        env("API_RATE_LIMIT_PER_TOKEN", "100000/minute" if testing else "600/minute"),
    )
    app.config.setdefault(
        "API_RATE_LIMIT_PER_IP", env("API_RATE_LIMIT_PER_IP", "100000/minute" if testing else "1200/minute")
    )


def install_api_integration(app: Flask) -> None:
    """API-wide settings, hooks and blueprints (OAuth2, clients, webhooks, docs), installed once per app."""
    if app.extensions.get("api_integration"):
        return
    app.extensions["api_integration"] = True
    from saas import extensions
    from saas.api import conventions, ratelimit
    from saas.api.contract import (
        ContractPlugin,
        announce_deprecation,
        configure_error_schemas,
        describe_contract,
    )
    from saas.api.oauth import init_oauth, oauth_endpoints
    from saas.api.openapi import ExactSchemasPlugin, document_oauth2
    from saas.api.pages import api_docs, integration_pages, workspace_api_document, workspace_api_pages
    from saas.api.resources import api as integration_api
    from saas.tenants.routing import install_tenant_page_routing

    _configure(app)
    app.spec_plugins += [ExactSchemasPlugin(), ContractPlugin()]
    configure_error_schemas(app)
    if app.spec_callback is None:
        app.spec_callback = lambda spec: describe_contract(app, document_oauth2(app, spec))
    init_oauth(app)
    app.before_request(ratelimit.limit_by_ip)
    app.before_request(conventions.check_api_body)
    # Registered after the tenant routing's hook, so these run before its commit (after_request is LIFO).
    app.after_request(conventions.add_etag)
    app.after_request(announce_deprecation)
    app.after_request(conventions.finish_idempotent_request)
    app.teardown_request(conventions.release_idempotency_key)
    app.teardown_request(ratelimit.count_deferred_ip_hits)
    for blueprint in (oauth_endpoints, integration_api, workspace_api_document):
        extensions.csrf.exempt(blueprint)  # token or client authenticated, no cookies
    app.register_blueprint(oauth_endpoints)
    app.register_blueprint(integration_api)
    app.register_blueprint(workspace_api_document)
    app.register_blueprint(api_docs)
    for pages in (integration_pages, workspace_api_pages):
        install_tenant_page_routing(pages)
        app.register_blueprint(pages, url_prefix="/t/<slug>")
