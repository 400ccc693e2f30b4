"""Helpers of the API tests: scoped tokens and OAuth2 clients made through the public services."""

from __future__ import annotations

import base64

from flask import current_app

from saas.api.access import api_scopes
from saas.api.credentials import create_scoped_token
from saas.db import db


def scoped_token(tenant, scopes: list[str] | set[str], name: str = "scoped") -> str:
    _, secret = create_scoped_token(
        db.session, tenant.slug, tenant.email, name, scopes, api_scopes(current_app)
    )
    db.session.commit()
    return secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def client_token(http, client_id: str, secret: str, scope: str | None = None):
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return http.post("/api/v1/oauth/token", data=data, headers=basic(client_id, secret))
