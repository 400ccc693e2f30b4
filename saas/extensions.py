"""Flask extensions, created once and bound to the app in :func:`saas.app.create_app`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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
