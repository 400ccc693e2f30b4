"""What the OpenAPI document promises beyond what apiflask derives from the schemas, so that generated
clients work: problem answers, stable operation ids, the conventions' headers, truthful ``required``.

Each rule reads how the server really behaves (:mod:`saas.api.conventions`, :mod:`saas.api.ratelimit`,
:mod:`saas.web.errors`, the tenant guards) and is applied to every operation by :func:`describe_contract`,
the generic document's last step; a workspace's document is a copy of it (see docs/api.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any

from apiflask import APIFlask, Schema
from apiflask.fields import Dict, Integer, List, String
from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import make_schema_key, resolve_schema_instance
from flask import Flask, Response, current_app, request
from marshmallow import INCLUDE, fields

from saas.modules.switches import BLUEPRINT_MODULES

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "patch", "delete")
_WRITES = frozenset({"post", "put", "patch", "delete"})
_PRECONDITION_METHODS = frozenset({"put", "patch", "delete"})
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")
SOMETIMES_ANSWERED = "x-sometimes-answered"
"""Field metadata ``{"sometimes_answered": True}``: an answer may leave the field out (every other field
of an answer-only schema is documented as required)."""


class Problem(Schema):
    """An RFC 9457 problem document: every error answer of the API has this shape."""

    class Meta:
        unknown = INCLUDE  # RFC 9457 extension members: clients must accept ones they do not know

    type = String(
        required=True,
        metadata={"description": "A URI naming the problem type; `about:blank`: the status says it all."},
    )
    title = String(required=True, metadata={"description": "A short summary of the problem type."})
    status = Integer(required=True, metadata={"description": "The HTTP status code."})
    detail = String(required=True, metadata={"description": "What went wrong with this request."})
    instance = String(metadata={"description": "A URI of this occurrence (not sent today)."})
    errors = Dict(
        keys=String(),
        values=List(String()),
        metadata={"description": "422: the messages of each refused field (or header), by its name."},
    )
    required_scope = String(metadata={"description": "403: the scope this token lacks."})
    missing_scopes = List(String(), metadata={"description": "403: scopes asked for beyond the token's."})
    billing_url = String(metadata={"description": "402: where an owner or admin settles the billing."})
    lifecycle = String(metadata={"description": "402: why the workspace is read-only."})
    export_id = String(metadata={"description": "409: the export already under way."})


ANSWERS: dict[int, str] = {
    400: "Malformed request: the body is not JSON or nests deeper than `API_MAX_JSON_DEPTH`.",
    401: "No valid bearer token (`WWW-Authenticate: Bearer`).",
    402: "The workspace is read-only (unpaid, paused or cancelled) or its plan lacks this module.",
    403: "The token lacks the operation's scope (`required_scope`) or its member the role.",
    404: "No such record in this workspace, or its module is switched off.",
    409: "Conflict; or a request with the same `Idempotency-Key` is still in progress (retry shortly).",
    412: "`If-Match` names another version than the current one: read it again, then retry.",
    413: "The JSON body is larger than `API_MAX_BODY_BYTES`.",
    422: "Validation failed (`errors` per field), text with NUL, or a reused `Idempotency-Key`.",
    429: "Rate limit exceeded: retry after `Retry-After` seconds.",
    503: "The database is unavailable for a moment; nothing was saved: retry after `Retry-After` seconds.",
}

HEADERS: dict[str, dict] = {
    "ETag": {
        "description": "The version of this answer; send it as `If-Match` to change the record safely.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

HEADERS["Deprecation"] = {
    "description": "This operation is deprecated (RFC 9745): `@<unix time>` of its deprecation.",
    "schema": {"type": "string"},
}
HEADERS["Sunset"] = {
    "description": "When this operation stops answering (RFC 8594, an HTTP date).",
    "schema": {"type": "string"},
}

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The `ETag` of the version you read: a change of any other version is refused with 412 "
    "and nothing is written. `*` matches any version.",
    "schema": {"type": "string"},
}

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Any unique value (a UUID): a retry with the same key and request replays the first "
    "answer (kept 24 hours) instead of doing the work twice.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _sometimes_answered(converter: Any, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    return {SOMETIMES_ANSWERED: True} if field.metadata.get("sometimes_answered") else {}


class ContractPlugin(BasePlugin):
    """Carries ``sometimes_answered`` from the marshmallow fields to :func:`describe_contract`."""

    def init_spec(self, spec: APISpec) -> None:
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(_sometimes_answered)


def configure_error_schemas(app: APIFlask) -> None:
    """apiflask's automatic error answers (401, 404, 422 and those views list) use :class:`Problem`."""
    app.config["HTTP_ERROR_SCHEMA"] = Problem
    app.config["VALIDATION_ERROR_SCHEMA"] = Problem


class DocumentedApp(APIFlask):
    """APIFlask that registers each schema once in the document.

    apiflask keeps its own list of the schemas it registered, while apispec registers nested ones
    (``ContactPage.data`` → ``ContactOut``) in another: a schema met first nested, then as an output, was
    added twice (``ContactOut1``, and apispec's "has already been added to the spec" warning). Asking
    apispec first keeps one name per schema.
    """

    def _register_schema_and_get_ref(self, spec: Any, registered_schema_classes: dict, schema_obj: Any):
        plugin = getattr(self, "_ma_plugin", None)
        if plugin is not None and not isinstance(schema_obj, dict):
            try:
                key = make_schema_key(resolve_schema_instance(schema_obj))
            except (TypeError, ValueError):  # not a marshmallow schema: apiflask's own path
                key = None
            name = plugin.converter.refs.get(key) if key is not None else None
            if name is not None:
                return {"$ref": f"#/components/schemas/{name}"}
        return super()._register_schema_and_get_ref(spec, registered_schema_classes, schema_obj)


# --- Deprecation -----------------------------------------------------------------------------------------

SUNSET_ATTRIBUTE = "api_sunset"


def deprecated(since: date, sunset: date) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Announce an operation's removal (docs/api.md, Versioning): its answers carry ``Deprecation`` and
    ``Sunset`` headers, the document marks it ``deprecated`` with ``x-sunset``. Place it above ``def``."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        setattr(view, SUNSET_ATTRIBUTE, (since, sunset))
        return view

    return mark


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _deprecation_of(view: Callable[..., Any] | None, method: str) -> tuple[date, date] | None:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a class-based view: each method announces itself
        view = getattr(view_class, method.lower(), None)
    return getattr(view, SUNSET_ATTRIBUTE, None)


def announce_deprecation(response: Response) -> Response:
    """``after_request``: the ``Deprecation`` and ``Sunset`` headers of a deprecated operation's answers."""
    marked = _deprecation_of(current_app.view_functions.get(request.endpoint or ""), request.method)
    if marked is not None:
        since, sunset = marked
        response.headers["Deprecation"] = f"@{int(_midnight(since).timestamp())}"
        response.headers["Sunset"] = format_datetime(_midnight(sunset), usegmt=True)
    return response


# --- Which view serves an operation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """The view behind one operation of the document."""

    endpoint: str
    view: Callable[..., Any]
    module: str | None
    """Key of the module whose blueprint serves it (switched off: 404; outside the plan: 402)."""


def openapi_path(rule: str) -> str:
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


def routes_of(app: Flask) -> dict[tuple[str, str], Route]:
    blueprint_modules = app.extensions.get(BLUEPRINT_MODULES, {})
    routes = {}
    for rule in app.url_map.iter_rules():
        module = blueprint_modules.get(rule.endpoint.rpartition(".")[0])
        view = app.view_functions[rule.endpoint]
        for method in rule.methods or ():
            routes[(openapi_path(rule.rule), method.lower())] = Route(rule.endpoint, view, module)
    return routes


def operations(document: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item[method]


# --- The rules --------------------------------------------------------------------------------------------


def operation_id(route: Route, method: str) -> str:
    """A view function's name (unique in the API); a class-based view names its operations itself."""
    name = route.endpoint.rpartition(".")[2]
    return name if getattr(route.view, "view_class", None) is None else f"{method}_{name}"


def statuses(path: str, method: str, operation: dict, path_item: dict, route: Route | None) -> set[int]:
    """Every 4xx (and the 503) this operation can answer, from where the server refuses requests."""
    found = {int(code) for code in operation.get("responses", {}) if str(code)[0] == "4"}
    found |= {422, 429}  # every /api/ request: NUL in the query string, the per-address rate limit
    found.add(503)  # every request may meet the database restarting (saas.web.errors)
    secured = bool(operation.get("security"))
    module = route.module if route is not None else None
    if secured:
        found |= {401, 403}  # token, then scope and declared role
        view = route.view if route is not None else None
        open_when_read_only = getattr(view, "allowed_when_read_only", False)
        if module or (method in _WRITES and not open_when_read_only):
            found.add(402)  # the billing guard of the tenant the token binds
        if method == "post":
            found.add(409)  # Idempotency-Key in flight
        if method in _PRECONDITION_METHODS and "get" in path_item:
            found.add(412)  # If-Match is compared with the ETag of the same URL's GET
    if "requestBody" in operation:
        found |= {400, 413}
    if "{" in path or module:
        found.add(404)
    return found


def _describe_operation(path: str, method: str, operation: dict, path_item: dict, route: Route | None):
    if route is not None and "operationId" not in operation:
        operation["operationId"] = operation_id(route, method)
    marked = _deprecation_of(route.view if route is not None else None, method)
    if marked is not None:
        operation["deprecated"] = True
        operation["x-sunset"] = marked[1].isoformat()
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
    parameters = operation.setdefault("parameters", [])
    # The generic list filter placeholder: the filters are `cf_<key>` parameters, typed in a
    # workspace's own document; a client cannot send an object-valued `custom`.
    parameters[:] = [p for p in parameters if not (p.get("in") == "query" and p.get("name") == "custom")]
    secured = bool(operation.get("security"))
    if secured and method in _PRECONDITION_METHODS and "get" in path_item:
        parameters.append(dict(IF_MATCH))
    if secured and method == "post":
        parameters.append(dict(IDEMPOTENCY_KEY))
    responses = operation.setdefault("responses", {})
    for code, answer in responses.items():
        code = str(code)
        content = answer.get("content", {})
        if code == "200" and method == "get" and "application/json" in content:
            answer.setdefault("headers", {})["ETag"] = HEADERS["ETag"]
        if code.startswith("2") and secured and method == "post":
            answer.setdefault("headers", {})["Idempotent-Replayed"] = HEADERS["Idempotent-Replayed"]
        for name in ("Deprecation", "Sunset") if marked is not None else ():
            answer.setdefault("headers", {})[name] = HEADERS[name]
    for status in sorted(statuses(path, method, operation, path_item, route)):
        answer = responses.setdefault(str(status), {})
        if not answer.get("description") or answer["description"] in _GENERIC_DESCRIPTIONS:
            answer["description"] = ANSWERS.get(status, "Refused.")
        answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(PROBLEM_REF)}}
        if status in (429, 503):
            answer["headers"] = {"Retry-After": HEADERS["Retry-After"]}
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: str(item[0])))


_GENERIC_DESCRIPTIONS = frozenset(
    {"Validation error", "Authentication error", "Not found", "Not Found", "Bad Request", "Unauthorized",
     "Forbidden", "Conflict", "Precondition Failed", "Payment Required", "Unprocessable Entity"}
)  # fmt: skip


def _schema_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
            yield reference.rpartition("/")[2]
        for value in node.values():
            yield from _schema_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_refs(value)


def _reachable(schemas: dict, roots: Iterator[str]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_schema_refs(schemas[name]))
    return seen


def _require_answer_fields(document: dict) -> None:
    """Mark every field of an answer-only schema required: answers are dumped from whole records, so each
    declared field is sent (``null`` where it may be empty). Schemas that are also read from requests
    keep the ``required`` of their input fields."""
    schemas = document.get("components", {}).get("schemas", {})
    requests_, answers = [], []
    for _, _, operation in operations(document):
        requests_ += _schema_refs([operation.get("requestBody"), operation.get("parameters")])
        for code, answer in operation.get("responses", {}).items():
            if str(code).startswith("2"):
                answers += _schema_refs(answer)
    read = _reachable(schemas, iter(requests_))
    for name in _reachable(schemas, iter(answers)) - read - {"Problem"}:
        properties = schemas[name].get("properties", {})
        sent = [key for key, value in properties.items() if not value.get(SOMETIMES_ANSWERED)]
        if sent:
            schemas[name]["required"] = sorted(sent)
    for schema in schemas.values():
        for value in schema.get("properties", {}).values():
            value.pop(SOMETIMES_ANSWERED, None)


def describe_contract(app: Flask, document: dict) -> dict:
    """The generic document's last step: each operation told as the server behaves (see module doc)."""
    routes = routes_of(app)
    for path, method, operation in list(operations(document)):
        _describe_operation(path, method, operation, document["paths"][path], routes.get((path, method)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for generic in ("HTTPError", "ValidationError"):  # apiflask's defaults, unused now
        schemas.pop(generic, None)
    _require_answer_fields(document)
    return document
