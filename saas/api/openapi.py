"""Adjustments to the generated OpenAPI document, so that it describes what the API really sends."""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields


def _decimal_as_string(converter: Any, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    # apispec documents every Decimal as a JSON number; ours are sent as strings to keep their exact value.
    if not isinstance(field, fields.Decimal):
        return {}
    bounds = [key for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if key in ret]
    if not field.as_string:
        return {key: float(ret[key]) for key in bounds}  # a Decimal bound would be rendered as a string
    for key in bounds:  # number bounds do not apply to a string
        del ret[key]
    kind = ret.get("type")
    if isinstance(kind, list):
        return {"type": ["string" if t == "number" else t for t in kind], "format": "decimal"}
    return {"type": "string", "format": "decimal"}


class ExactSchemasPlugin(BasePlugin):
    def init_spec(self, spec: APISpec) -> None:
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(_decimal_as_string)


def document_oauth2(app: Flask, spec: dict) -> dict:
    """Add the OAuth2 client-credentials scheme, and on each operation the one scope it needs."""
    from saas.api.access import api_scopes, required_scope

    scopes = {scope: f"{scope.replace(':', ' ')} access" for scope in api_scopes(app)}
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["OAuth2"] = {
        "type": "oauth2",
        "description": "Client credentials of an API client (Settings → API and webhooks).",
        "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token", "scopes": scopes}},
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            scope = required_scope(path, method)
            if isinstance(operation, dict) and operation.get("security") and scope:
                operation["security"] = [*operation["security"], {"OAuth2": [scope]}]
                operation.setdefault("x-required-scope", scope)
    return spec
