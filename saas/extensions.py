"""Flask extensions, created once and bound to the app in :func:`saas.app.create_app`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_host

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"

csrf = CSRFProtect()

# Behind trusted proxies the remote address is the client's: :class:`TrustedProxies` rewrote it.
limiter = Limiter(key_func=get_remote_address)


CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    # Scripts only from our own static files: no inline script, no handler attribute, no eval.
    "script-src": "'self'",
    # Inline style *attributes* carry values chosen at run time (a workspace's brand colour, chart
    # swatches, the billing banner's level): allowed for styles only, which cannot run code.
    "style-src": "'self' 'unsafe-inline'",
    # A privacy center's logo is an https URL its admins chose.
    "img-src": "'self' data: https:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
EMBEDDABLE = {
    "frame_options": None,
    "content_security_policy": {**CONTENT_SECURITY_POLICY, "frame-ancestors": "*"},
}
"""Per-view options (``@security_headers(**EMBEDDABLE)``) of pages other sites may show in a frame."""


class SecurityHeaders(Talisman):
    """Flask-Talisman, except that a view which chose its own ``Referrer-Policy`` keeps it (the password
    reset page, whose address holds a token, sends ``same-origin``)."""

    def _set_referrer_policy_headers(self, headers: Any) -> None:
        headers.setdefault("Referrer-Policy", self.referrer_policy)


security_headers = SecurityHeaders()


def init_security_headers(app: Flask) -> None:
    """CSP, frame protection, nosniff, Referrer-Policy on every response; HSTS on those served over
    HTTPS (as the trusted proxies report it). Plain HTTP is not redirected: the load balancer does
    that, and the tests and ``make dev`` speak HTTP."""
    security_headers.init_app(
        app,
        force_https=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        # The old XSS auditor header is gone from browsers and could itself leak; the CSP does its job.
        x_xss_protection=False,
        # Talisman would otherwise force these cookie settings; the app's configuration decides them.
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )


# The balancer's health checks and the metrics scraper name the task by its IP address: these answer
# any Host, and build no link from it.
UNNAMED_HOST_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def trusted_proxy_hops(config: Any) -> int:
    """How many proxies in front of the app to believe (``TRUSTED_PROXY_HOPS``, or its older name
    ``API_TRUSTED_PROXIES``); 0 believes no forwarded header."""
    return int(config.get("TRUSTED_PROXY_HOPS") or config.get("API_TRUSTED_PROXIES") or 0)


class TrustedProxies:
    """Werkzeug's ProxyFix for X-Forwarded-For, -Proto and -Host, trusting as many hops as the app's
    config says when the request comes in (so one setting serves pages, API, audit and external URLs),
    then a refusal of hosts not in ``ALLOWED_HOSTS`` (when set), so a forged Host or X-Forwarded-Host
    cannot aim mailed links at another site.

    Each proxy appends what it saw, so only the last ``hops`` entries are believed: entries a client
    wrote itself before them change nothing.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wsgi_app = app.wsgi_app
        self._fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        hops = trusted_proxy_hops(self.app.config)
        if hops <= 0:
            return self._known_hosts_only(environ, start_response)
        fix = self._fixes.get(hops)
        if fix is None:
            fix = self._fixes[hops] = ProxyFix(self._known_hosts_only, x_for=hops, x_proto=hops, x_host=hops)
        return fix(environ, start_response)

    def _known_hosts_only(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # Checked here, not by Flask's TRUSTED_HOSTS: that one spares no health check, and leaves the
        # error page no URL adapter to render with.
        allowed = self.app.config.get("ALLOWED_HOSTS")
        if allowed and environ.get("PATH_INFO") not in UNNAMED_HOST_PATHS:
            try:
                get_host(environ, allowed)
            except SecurityError as error:
                return error(environ, start_response)
        return self.wsgi_app(environ, start_response)


def trust_proxies(app: Flask) -> None:
    app.wsgi_app = TrustedProxies(app)  # type: ignore[method-assign]
