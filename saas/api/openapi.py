"""Adjustments to the generated OpenAPI document, so that it describes what the API really sends."""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
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
