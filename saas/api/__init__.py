"""REST API v1: bearer-token authentication that binds the request to the token's tenant."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from apiflask import APIBlueprint, HTTPTokenAuth
from flask import Flask

from saas.auth.services import find_api_token
from saas.db import db
from saas.tenants.routing import bind_request_to_tenant

API_PREFIX = "/api/v1"
LAST_USED_RESOLUTION = timedelta(minutes=1)

token_auth = HTTPTokenAuth(scheme="Bearer", description="A personal API token (`saas tokens create`).")


@token_auth.verify_token
def _verify_token(secret: str):
    token = find_api_token(db.session, secret)
    if token is None:
        return None
    now = datetime.now(UTC)
    # Recorded at most once a minute: a write and commit on every API call would halve throughput.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    membership = next(m for m in token.user.memberships if m.tenant_id == token.tenant_id)
    bind_request_to_tenant(token.tenant.ref, membership)
    return token.user


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


def install_api_integration(app: Flask) -> None:
    """API-wide settings, hooks and blueprints (webhooks...), installed once per app."""
    if app.extensions.get("api_integration"):
        return
    app.extensions["api_integration"] = True
    settings = app.config.get("SAAS_SETTINGS")
    testing = getattr(settings, "environment", "production") == "test"
    # Loopback webhook receivers only where tests run them; never in production by default.
    app.config.setdefault("WEBHOOKS_ALLOW_LOOPBACK", _env_flag("WEBHOOKS_ALLOW_LOOPBACK", testing))
    app.config.setdefault(
        "WEBHOOK_RETRY_BASE_SECONDS", int(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
    )
    app.config.setdefault("WEBHOOK_MAX_RETRIES", int(os.environ.get("WEBHOOK_MAX_RETRIES", "5")))
    app.config.setdefault("WEBHOOK_DISABLE_AFTER", int(os.environ.get("WEBHOOK_DISABLE_AFTER", "5")))
