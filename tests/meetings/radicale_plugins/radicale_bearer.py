"""A Radicale authentication plugin for the OAuth calendar tests: a request with ``Authorization: Bearer
<token>`` is the user the OAuth provider's introspection endpoint (RFC 7662) names for an active token,
as a provider's CalDAV endpoint does; Basic logins go to htpasswd as before.

Radicale loads it by module name (``[auth] type = radicale_bearer``); the introspection address and the
resource server's client credentials come from ``RADICALE_BEARER_INTROSPECTION_URL``."""

from __future__ import annotations

import os

import requests
from radicale.auth import htpasswd

_MARK = "bearer-token"


class Auth(htpasswd.Auth):
    def get_external_login(self, environ):
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if authorization.startswith("Bearer "):
            # The token travels as the password; _login below asks the provider who it belongs to.
            return (_MARK, authorization[len("Bearer ") :].strip())
        return ()

    def _login(self, login: str, password: str) -> str:
        if login != _MARK:
            return super()._login(login, password)
        url = os.environ["RADICALE_BEARER_INTROSPECTION_URL"]
        try:
            answer = requests.post(url, data={"token": password}, timeout=10).json()
        except (requests.RequestException, ValueError):
            return ""
        return answer.get("username", "") if answer.get("active") else ""
