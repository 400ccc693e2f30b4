"""A real OAuth 2.0 authorization server on loopback for the mailbox's OAuth tests, built from Authlib's
server classes: authorization code with PKCE (S256 required), refresh tokens, token introspection
(RFC 7662, what Dovecot's ``oauth2`` passdb and the test SMTP server ask) and a userinfo endpoint;
and an SMTP server that takes mail only with XOAUTH2 and a token the provider vouches for.

Its one end user is signed in already and consents to everything, so the authorize endpoint redirects
straight back with a code; the test controls the tokens (expire, revoke) through the store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from saas.embedded import free_loopback_port
from tests.mailsink import MailSink

APP_CLIENT = ("crm-app", "crm-app-secret")
"""The CRM's client id and secret at this provider (what the operator configures)."""
RESOURCE_CLIENT = ("mail-server", "mail-server-secret")
"""The mail servers' own client, allowed to introspect any token (Dovecot, the SMTP sink)."""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class User:
    id: str
    email: str


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class Token(TokenMixin):
    client_id: str
    user: User
    access_token: str
    refresh_token: str | None
    scope: str
    expires_at: float
    revoked: bool = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int(self.expires_at - time.time())

    def is_expired(self):
        return time.time() >= self.expires_at

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return None


class Provider:
    """The server's state and its Flask app; ``url`` is where it listens."""

    def __init__(self, email: str) -> None:
        self.user = User(id="u1", email=email)
        self.clients = {c[0]: Client(*c) for c in (APP_CLIENT, RESOURCE_CLIENT)}
        self.codes: dict[str, Code] = {}
        self.tokens: list[Token] = []
        self.introspections = 0
        self.refreshes = 0
        self.lock = threading.Lock()
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- what a test does to the tokens ---------------------------------------------------------

    def allow_redirect(self, redirect_uri: str) -> None:
        self.clients[APP_CLIENT[0]].redirect_uris.append(redirect_uri)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (refresh tokens still do)."""
        for token in self.tokens:
            token.expires_at = 0

    def revoke_everything(self) -> None:
        """The user revoked the app at the provider: no token, access or refresh, works any more."""
        for token in self.tokens:
            token.revoked = True

    def revoke(self, access_token: str) -> None:
        """Revoke one grant: this access token and the refresh token issued with it."""
        found = self.find(access_token)
        assert found is not None, "no such token was issued"
        found.revoked = True

    def find(self, value: str) -> Token | None:
        with self.lock:
            return next((t for t in self.tokens if value in (t.access_token, t.refresh_token)), None)

    # -- the server -------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("test_oauth_provider")
        app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600, "refresh_token": 3600}
        provider = self

        def save_token(token: dict, req) -> None:
            with provider.lock:
                provider.tokens.append(
                    Token(
                        client_id=req.client.client_id,
                        user=req.user,
                        access_token=token["access_token"],
                        refresh_token=token.get("refresh_token"),
                        scope=token.get("scope", ""),
                        expires_at=time.time() + token["expires_in"],
                    )
                )

        server = AuthorizationServer(app, query_client=self.clients.get, save_token=save_token)

        class CodeGrant(grants.AuthorizationCodeGrant):
            def save_authorization_code(self, code, req):
                data = req.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope or "",
                    user=req.user,
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class RefreshGrant(grants.RefreshTokenGrant):
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token):
                token = provider.find(refresh_token)
                if token and token.refresh_token == refresh_token and not token.revoked:
                    provider.refreshes += 1
                    return token
                return None

            def authenticate_user(self, refresh_token):
                return refresh_token.user

            def revoke_old_credential(self, refresh_token):
                refresh_token.revoked = True

        class Introspection(IntrospectionEndpoint):
            def query_token(self, token_string, token_type_hint):
                provider.introspections += 1
                return provider.find(token_string)

            def introspect_token(self, token):
                return {
                    "active": True,
                    "client_id": token.client_id,
                    "username": token.user.email,
                    "scope": token.scope,
                    "exp": int(token.expires_at),
                }

            def check_permission(self, token, client, req):
                return client.client_id == RESOURCE_CLIENT[0]

        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)
        server.register_endpoint(Introspection)

        @app.get("/authorize")
        def authorize():
            grant = server.get_consent_grant(end_user=provider.user)
            return server.create_authorization_response(grant_user=provider.user, grant=grant)

        @app.post("/token")
        def token():
            return server.create_token_response()

        @app.post("/introspect")
        def introspect():
            return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

        @app.get("/userinfo")
        def userinfo():
            value = request.headers.get("Authorization", "").removeprefix("Bearer ")
            found = provider.find(value)
            if found is None or found.access_token != value or found.revoked or found.is_expired():
                return jsonify(error="invalid_token"), 401
            return jsonify(sub=found.user.id, email=found.user.email)

        return app

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    @property
    def introspection_url(self) -> str:
        """With the mail servers' client credentials, as Dovecot's ``introspection_url`` takes them."""
        return f"http://{RESOURCE_CLIENT[0]}:{RESOURCE_CLIENT[1]}@127.0.0.1:{self.port}/introspect"


class OAuthMailSink(MailSink):
    """An SMTP server that takes mail only after ``AUTH XOAUTH2`` with a token the provider says is
    active for that user (introspection, as Dovecot asks), as a provider's submission server does."""

    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self.provider = provider
        self.logins: list[str] = []

    async def auth_XOAUTH2(self, server, args: list[str]) -> AuthResult:
        raw = args[1] if len(args) > 1 else (await server.challenge_auth("")).decode()
        try:
            fields = dict(
                part.split("=", 1) for part in base64.b64decode(raw).decode().split("\x01") if "=" in part
            )
        except ValueError:
            return AuthResult(success=False)
        token = fields.get("auth", "").removeprefix("Bearer ")
        answer = await asyncio.to_thread(
            requests.post,
            f"{self.provider.url}/introspect",
            data={"token": token},
            auth=RESOURCE_CLIENT,
            timeout=10,
        )
        info = answer.json()
        if info.get("active") and info.get("username") == fields.get("user"):
            self.logins.append(fields["user"])
            return AuthResult(success=True, auth_data=fields["user"])
        # XOAUTH2 answers a refusal with an error challenge; the client's empty reply ends the exchange.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False)


def start_oauth_sink(provider: Provider) -> tuple[Controller, OAuthMailSink, int]:
    sink = OAuthMailSink(provider)
    port = free_loopback_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False)
    controller.start()
    return controller, sink, port
