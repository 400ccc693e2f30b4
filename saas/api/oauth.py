"""The OAuth2 authorization server (Authlib): client-credentials grant at ``POST /api/v1/oauth/token``.

Tokens are opaque, short-lived (``API_TOKEN_LIFETIME_SECONDS``, 15 minutes by default) and stored as
SHA-256 digests; revoking a client revokes its tokens at once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import Blueprint, Flask, current_app
from sqlalchemy import select

from saas.api.access import ACCESS_TOKEN_PREFIX, API_PREFIX
from saas.api.models import TOKEN_AUTH_METHODS, OAuthClient, OAuthToken, digest
from saas.db import db

SERVER_KEY = "oauth2_server"

oauth_endpoints = Blueprint("api_oauth", __name__, url_prefix=f"{API_PREFIX}/oauth")


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_AUTH_METHODS)


def _query_client(client_id: str) -> OAuthClient | None:
    return db.session.scalar(
        select(OAuthClient).where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
    )


def _save_token(token: dict, request) -> None:
    client: OAuthClient = request.client
    db.session.add(
        OAuthToken(
            client_pk=client.id,
            token_hash=digest(token["access_token"]),
            scope=token.get("scope") or "",
            expires_at=datetime.now(UTC) + timedelta(seconds=int(token["expires_in"])),
        )
    )
    db.session.commit()


def _new_access_token(**_: object) -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _lifetime(client: OAuthClient, grant_type: str) -> int:
    return int(current_app.config["API_TOKEN_LIFETIME_SECONDS"])


def init_oauth(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_token_generator(
        "default", BearerTokenGenerator(_new_access_token, expires_generator=_lifetime)
    )
    server.register_grant(ClientCredentialsGrant)
    app.extensions[SERVER_KEY] = server
    return server


@oauth_endpoints.post("/token")
def issue_token():
    """RFC 6749 token endpoint; errors are RFC 6749 JSON (``{"error": "invalid_client"}``), not problems."""
    return current_app.extensions[SERVER_KEY].create_token_response()
