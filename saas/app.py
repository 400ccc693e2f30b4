"""The application factory: settings, extensions, blueprints (from the module registry), errors."""

from __future__ import annotations

import logging

from apiflask import APIFlask
from flask import Flask
from sqlalchemy.orm import configure_mappers

from saas import billing, extensions, i18n, observability
from saas.api.contract import DocumentedApp
from saas.cells import declared_cells
from saas.cells import init_app as init_cells
from saas.config import Settings
from saas.db import TENANT_SCHEMA_PLACEHOLDER, db
from saas.embedded import embedded_database_url, embedded_redis_url, normalise_database_url
from saas.models import load_all_models
from saas.tenant_connections import TenantConnectionSettings, TenantPools


def _resolve_service_urls(settings: Settings) -> tuple[str, str]:
    database_url = (
        normalise_database_url(settings.database_url)
        if settings.database_url
        else embedded_database_url(settings.instance_dir)
    )
    redis_url = settings.redis_url or embedded_redis_url(settings.instance_dir)
    return database_url, redis_url


def _limiter_storage_uri(redis_url: str) -> str:
    # The limits library spells a Unix socket URL differently from redis-py.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def configure(app: Flask, settings: Settings) -> None:
    database_url, redis_url = _resolve_service_urls(settings)
    app.config.update(
        SAAS_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": settings.db_pool_size},
        REDIS_URL=redis_url,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        RATELIMIT_STORAGE_URI=_limiter_storage_uri(redis_url),
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT=settings.login_rate_limit,
        SMTP_URL=settings.smtp_url,
        SMTP_CA_FILE=settings.smtp_ca_file,
        MAIL_FROM=settings.mail_from,
        TRUSTED_PROXY_HOPS=settings.trusted_proxy_hops,
        ALLOWED_HOSTS=list(settings.allowed_hosts) if settings.allowed_hosts else None,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        VALIDATION_ERROR_STATUS_CODE=422,
        INFO={"description": "The CRM's REST API. Authenticate with `Authorization: Bearer <token>`."},
    )
    app.config.update(settings.extra)
    # Each tenant lives in a cell (one cluster per region; by default the platform's server).
    cells = declared_cells(settings, database_url, redis_url)
    init_cells(app, cells)
    # Tenant connections may go elsewhere (PgBouncer); by default to their cell's server.
    app.extensions["tenant_pools"] = TenantPools(
        TenantConnectionSettings.from_settings(settings, database_url, cells), TENANT_SCHEMA_PLACEHOLDER
    )


def register_blueprints(app: Flask) -> None:
    from saas.auth.identity_views import register_identity_pages
    from saas.auth.views import auth_pages
    from saas.exports.api import api as exports_api
    from saas.exports.views import export_pages
    from saas.modules.privacy.center import privacy_center
    from saas.modules.registry import registry
    from saas.modules.settings import settings_pages
    from saas.modules.switches import BLUEPRINT_MODULES, refuse_requests_to_disabled_modules
    from saas.operator.views import register_operator_pages
    from saas.tenants.audit_views import register_audit_pages
    from saas.tenants.language_views import register_language_pages
    from saas.tenants.routing import install_tenant_page_routing, register_tenant_guard
    from saas.tenants.signup import signup_pages
    from saas.web.views import site_pages
    from saas.web.workspace import workspace_pages

    app.register_blueprint(site_pages)
    app.register_blueprint(signup_pages)
    app.register_blueprint(auth_pages)
    blueprint_modules = app.extensions.setdefault(BLUEPRINT_MODULES, {})
    for module in registry:
        if module.pages is not None:
            pages = module.pages()
            install_tenant_page_routing(pages)
            app.register_blueprint(pages, url_prefix="/t/<slug>")
            blueprint_modules[pages.name] = module.key
        if module.api is not None:
            api = module.api()
            # Token-authenticated, no cookies: CSRF does not apply.
            extensions.csrf.exempt(api)
            app.register_blueprint(api)
            blueprint_modules[api.name] = module.key
        if module.public is not None:
            app.register_blueprint(module.public())
    register_tenant_guard(refuse_requests_to_disabled_modules)
    for pages in (settings_pages, export_pages, workspace_pages):
        install_tenant_page_routing(pages)
        app.register_blueprint(pages, url_prefix="/t/<slug>")
    extensions.csrf.exempt(exports_api)
    app.register_blueprint(exports_api)
    # Public, bound to its tenant by a signed link, not by a staff login: no tenant page routing.
    app.register_blueprint(privacy_center, url_prefix="/p/<slug>")
    register_identity_pages(app)  # SSO sign-in, invitations, members and SSO settings
    register_audit_pages(app)
    register_language_pages(app)
    register_operator_pages(app)  # platform staff only: /operator/
    if app.config["SAAS_SETTINGS"].environment == "development":
        from saas.development.views import dev_inbox_pages

        app.register_blueprint(dev_inbox_pages)
    for blueprint in app.blueprints.values():
        # apiflask documents APIBlueprints only; it needs plain page blueprints to say so.
        if not hasattr(blueprint, "enable_openapi"):
            blueprint.enable_openapi = False


def create_app(settings: Settings | None = None) -> APIFlask:
    settings = settings or Settings.from_environment()
    app = DocumentedApp(  # APIFlask that adds each schema to the OpenAPI document once
        __name__,
        title="CRM API",
        version="v1",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # the bundled docs UI loads assets from a CDN; served locally later
        json_errors=False,
        template_folder="web/templates",
        static_folder="web/static",
    )
    configure(app, settings)
    extensions.trust_proxies(app)
    extensions.init_security_headers(app)
    logging.basicConfig(level=logging.INFO)
    observability.init_app(app)

    db.init_app(app)
    i18n.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)

    from saas.auth.views import load_user
    from saas.cli import register_commands
    from saas.tenants import routing
    from saas.web.errors import register_error_handlers

    extensions.login_manager.user_loader(load_user)
    routing.init_app(app)
    register_error_handlers(app)
    register_blueprints(app)
    billing.init_app(app)
    from saas.tenants.moves import window as move_window

    move_window.init_app(app)  # writes answer 503 during a move's read-only window
    register_commands(app)
    # Mappers configured once here, not by each worker's first request (about a second of CPU each).
    load_all_models()
    configure_mappers()
    return app
