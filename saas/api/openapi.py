"""Adjustments to the generated OpenAPI document, so that it describes what the API really sends."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields

from saas.db import TenantSession, db
from saas.modules.core import objects
from saas.modules.core.custom_fields import TYPES, entities, key_of, list_fields
from saas.modules.core.models import CustomField, CustomObject
from saas.modules.registry import registry
from saas.modules.switches import BLUEPRINT_MODULES, enabled_module_keys
from saas.tenants.models import Tenant


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


# The workspace's own document --------------------------------------------------------------------------
#
# The generic document types ``custom_fields`` as a free-form object, since each workspace defines its own.
# A workspace's document is the generic one with that object typed from the workspace's ``custom_fields``
# rows and its list operations given one ``cf_<key>`` filter per field.

CUSTOM_FIELDS = "custom_fields"
UNSORTABLE_TYPES = frozenset({"long_text", "multi_select"})
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
"""The plain form of a decimal string (the API also reads exponents; answers may use one)."""
_JSON = ("content", "application/json", "schema")
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")
Pointer = tuple[str, ...]
"""Keys from the document's root to a schema object (which may be a ``$ref``)."""


@dataclass(frozen=True)
class RecordType:
    """Where one record type's custom fields show in the generic document."""

    entity: str
    create_inputs: tuple[Pointer, ...]
    update_inputs: tuple[Pointer, ...]
    outputs: tuple[Pointer, ...]
    list_operations: tuple[Pointer, ...]


@dataclass(frozen=True)
class GenericDocument:
    """The generic document, computed once per process, and what a workspace's copy changes in it."""

    document: dict
    record_types: tuple[RecordType, ...]
    path_modules: dict[str, str]
    """Module key of each path served by a module's blueprint (for the switched-off note)."""


def generic_document(app: Flask) -> GenericDocument:
    """The generic document and its index; built on first use, then shared (never mutated)."""
    cached = app.extensions.get("generic_openapi_document")
    if cached is None:
        # The very document /api/v1/openapi.json serves (apiflask caches it); ``app.spec`` would rebuild it.
        document = copy.deepcopy(app._get_spec("json"))
        cached = GenericDocument(
            document,
            tuple(filter(None, (_record_type(document, entity) for entity in entities()))),
            _path_modules(app),
        )
        app.extensions["generic_openapi_document"] = cached
    return cached


def _resolve(document: dict, pointer: Pointer) -> dict | None:
    node: Any = document
    for key in pointer:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    reference = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(reference, str) and reference.startswith("#/"):
        return _resolve(document, tuple(reference[2:].split("/")))
    return node if isinstance(node, dict) else None


def _canonical(document: dict, pointer: Pointer) -> Pointer:
    """The pointer of the schema object itself (a ``$ref`` followed), so each schema is listed once."""
    node: Any = document
    for key in pointer:
        node = node.get(key) if isinstance(node, dict) else None
    reference = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(reference, str) and reference.startswith("#/"):
        return _canonical(document, tuple(reference[2:].split("/")))
    return pointer


def _with_custom_fields(document: dict, pointers: list[Pointer]) -> tuple[Pointer, ...]:
    found: list[Pointer] = []
    for pointer in pointers:
        schema = _resolve(document, pointer)
        if schema is not None and CUSTOM_FIELDS in schema.get("properties", {}):
            canonical = _canonical(document, pointer)
            if canonical not in found:
                found.append(canonical)
    return tuple(found)


def _record_type(document: dict, entity: str) -> RecordType | None:
    """Find a record type's schemas through its operations (``/<entity>`` and ``/<entity>/{id}``), so a
    schema that gains ``custom_fields`` later is covered by its name-independent place in the API."""
    from saas.api.access import API_PREFIX

    paths = document.get("paths", {})
    collection = f"{API_PREFIX}/{entity}"
    items = [
        path
        for path in paths
        if path.startswith(collection + "/{")
        and path.endswith("}")
        and path.count("/") == collection.count("/") + 1
    ]
    creates, updates, outputs, lists = [], [], [], []
    if "post" in paths.get(collection, {}):
        creates.append(("paths", collection, "post", "requestBody", *_JSON))
        outputs += _responses(paths, collection, "post")
    if "get" in paths.get(collection, {}):
        page = ("paths", collection, "get", "responses", "200", *_JSON)
        page_schema = _resolve(document, page)
        if page_schema is not None and "data" in page_schema.get("properties", {}):
            outputs.append((*_canonical(document, page), "properties", "data", "items"))
        lists.append(("paths", collection, "get"))
    for path in items:
        for method in ("patch", "put"):
            if method in paths[path]:
                updates.append(("paths", path, method, "requestBody", *_JSON))
        for method in ("get", "patch", "put"):
            if method in paths[path]:
                outputs += _responses(paths, path, method)
    record_type = RecordType(
        entity,
        _with_custom_fields(document, creates),
        _with_custom_fields(document, updates),
        _with_custom_fields(document, outputs),
        tuple(lists),
    )
    if not (record_type.create_inputs or record_type.update_inputs or record_type.outputs):
        return None  # its schemas take no custom fields (yet): left as they are
    return record_type


def _responses(paths: dict, path: str, method: str) -> list[Pointer]:
    answers = paths[path][method].get("responses", {})
    return [
        ("paths", path, method, "responses", code, *_JSON) for code in answers if str(code).startswith("2")
    ]


def _path_modules(app: Flask) -> dict[str, str]:
    blueprint_modules = app.extensions.get(BLUEPRINT_MODULES, {})
    modules = {}
    for rule in app.url_map.iter_rules():
        module = blueprint_modules.get(rule.endpoint.rpartition(".")[0])
        if module is not None:
            modules[_RULE_ARGUMENT.sub(r"{\1}", rule.rule)] = module
    return modules


def workspace_document(app: Flask, session: TenantSession, tenant: Tenant) -> dict:
    """The generic document with this workspace's custom fields typed, and its switched-off modules said."""
    generic = generic_document(app)
    document = copy.deepcopy(generic.document)
    defined: dict[str, list[CustomField]] = {}
    for definition in list_fields(session):  # deleted fields are not listed
        defined.setdefault(definition.entity, []).append(definition)
    for record_type in generic.record_types:
        _type_record(document, record_type, defined.get(record_type.entity, []))
    for definition in objects.live_objects(session):
        record_type = _object_paths(document, definition)
        if record_type is not None:
            _type_record(document, record_type, defined.get(definition.table_name, []))
    enabled = enabled_module_keys(db.session, tenant.id)
    for path, module in generic.path_modules.items():
        if module not in enabled and path in document.get("paths", {}):
            _say_switched_off(document["paths"][path], module, registry.get(module).title)
    info = document.setdefault("info", {})
    info["description"] = (
        f"{info.get('description', '')}\n\nThis document is the workspace {tenant.name}'s own: its custom "
        "fields are typed in each record's `custom_fields` and offered as `cf_<key>` list filters, as "
        "they are defined now. Fetch it again after changing them."
    ).strip()
    info["x-workspace"] = {"slug": tenant.slug, "name": tenant.name}
    return document


OBJECT_RECORDS = "objects/{object_key}/records"
"""The generic paths of any custom object's records, below the API prefix."""


def _object_paths(document: dict, definition: CustomObject) -> RecordType | None:
    """A custom object's own copy of the generic object record paths (``/objects/vehicle/records``), with
    its schemas inlined so that its fields type them alone, and operation ids of its own."""
    from saas.api.access import API_PREFIX

    paths = document.get("paths", {})
    generic = f"{API_PREFIX}/{OBJECT_RECORDS}"
    own = generic.replace("{object_key}", definition.key)
    for path in [p for p in list(paths) if p == generic or p.startswith(generic + "/")]:
        operations = _inlined(document, copy.deepcopy(paths[path]))
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            operation["parameters"] = [
                parameter
                for parameter in operation.get("parameters", [])
                if parameter.get("name") != "object_key"
            ]
            if "operationId" in operation:
                operation["operationId"] = operation["operationId"].replace("object", definition.key, 1)
            summary = operation.get("summary", "")
            summary = summary.replace("a custom object's records", definition.plural.lower())
            operation["summary"] = summary.replace(
                "a custom object's record", f"a {definition.singular.lower()}"
            )
        operations.pop("parameters", None)
        paths[own + path.removeprefix(generic)] = operations
    return _record_type(document, own.removeprefix(API_PREFIX + "/"))


def _inlined(document: dict, node: Any) -> Any:
    """``node`` with every ``$ref`` into the document replaced by a copy of what it points at."""
    if isinstance(node, list):
        return [_inlined(document, item) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        return _inlined(document, copy.deepcopy(_resolve(document, tuple(reference[2:].split("/")))))
    return {key: _inlined(document, value) for key, value in node.items()}


def _type_record(document: dict, record_type: RecordType, definitions: list[CustomField]) -> None:
    noun = record_type.entity
    required = [key_of(d) for d in definitions if d.required and d.default_value is None]
    for pointer in record_type.create_inputs:
        schema = _resolve(document, pointer)
        schema["properties"][CUSTOM_FIELDS] = _values_object(noun, definitions, "create")
        if required:
            schema["properties"][CUSTOM_FIELDS]["required"] = required
            schema["required"] = sorted({*schema.get("required", []), CUSTOM_FIELDS})
    for pointer in record_type.update_inputs:
        _resolve(document, pointer)["properties"][CUSTOM_FIELDS] = _values_object(noun, definitions, "update")
    for pointer in record_type.outputs:
        _resolve(document, pointer)["properties"][CUSTOM_FIELDS] = _values_object(noun, definitions, "output")
    for pointer in record_type.list_operations:
        _add_filters(_resolve(document, pointer), definitions)


def _values_object(noun: str, definitions: list[CustomField], use: str) -> dict:
    properties = {key_of(d): _value_schema(d, use) for d in definitions}
    if use == "output":
        described = f"Values of this workspace's custom fields on {noun}, by key (null: no value)."
    elif definitions:
        described = f"Values of this workspace's custom fields on {noun}, by key; other keys are refused."
    else:
        described = f"This workspace has no custom fields on {noun}: any key is refused."
    values: dict[str, Any] = {"type": "object", "description": described, "properties": properties}
    if use != "output":
        values["additionalProperties"] = False
    return values


def _value_schema(definition: CustomField, use: str) -> dict:
    """One field's value: typed as the API checks it (``use``: create, update, output or filter)."""
    kind = definition.field_type
    schema: dict[str, Any] = {"title": definition.label}
    if kind in ("number", "currency"):
        bound = 10**15 if kind == "number" else 10**12
        if use == "output":  # sent as a string to keep the exact value
            schema |= {"type": "string", "format": "decimal"}
        elif use == "filter":
            schema |= {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
        else:  # a JSON number or a decimal string; the bounds apply to a number, the pattern to a string
            schema |= {
                "type": ["string", "number"], "format": "decimal", "pattern": DECIMAL_PATTERN,
                "minimum": -bound, "maximum": bound,
            }  # fmt: skip
    elif kind == "multi_select" and use != "filter":
        schema |= {"type": "array", "items": {"type": "string", "enum": list(definition.options)}}
    else:
        schema |= _SCALARS[kind](definition)
    nullable = use == "output" or (use != "filter" and not definition.required)
    if nullable:
        schema["type"] = [*(schema["type"] if isinstance(schema["type"], list) else [schema["type"]]), "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    notes = [f"{TYPES[kind].label}."]
    if definition.help_text:
        notes.append(definition.help_text)
    if kind == "reference":
        notes.append(f"The id of one of this workspace's {definition.reference}.")
    if use == "filter":
        notes.append(
            "Records whose list of choices contains this one."
            if kind == "multi_select"
            else "Records whose value equals this one; an empty value finds records without one."
        )
    elif use != "output":
        if definition.required:
            filled = (
                " (left out on creation, its default fills it in)"
                if definition.default_value is not None
                else ""
            )
            notes.append(f"Required{filled}.")
        if definition.default_value is not None:
            schema["default"] = definition.default_value
            if not definition.required:
                notes.append("Left out on creation, the default is stored.")
    schema["description"] = " ".join(notes)
    schema["x-field-type"] = kind
    return schema


_SCALARS: dict[str, Callable[[CustomField], dict]] = {
    "text": lambda d: {"type": "string", "maxLength": 255},
    "long_text": lambda d: {"type": "string", "maxLength": 100_000},
    "date": lambda d: {"type": "string", "format": "date"},
    "boolean": lambda d: {"type": "boolean"},
    "single_select": lambda d: {"type": "string", "enum": list(d.options)},
    "multi_select": lambda d: {"type": "string", "enum": list(d.options)},  # a filter names one choice
    "url": lambda d: {
        "type": "string",
        "format": "uri",
        "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
        "maxLength": 2000,
    },
    "email": lambda d: {"type": "string", "format": "email", "maxLength": 254},
    "phone": lambda d: {"type": "string", "pattern": "^[0-9+()./ -]+$", "maxLength": 40},
    "reference": lambda d: {"type": "string", "format": "uuid"},
}


def _add_filters(operation: dict, definitions: list[CustomField]) -> None:
    """One ``cf_<key>`` query parameter per field, and the sortable fields on a ``sort`` parameter if the
    list has one."""
    parameters = list(operation.get("parameters", []))
    for definition in definitions:
        parameters.append(
            {
                "in": "query",
                "name": f"cf_{key_of(definition)}",
                "required": False,
                "description": f"Filter on the custom field {definition.label}.",
                "schema": _value_schema(definition, "filter"),
            }
        )
    operation["parameters"] = parameters
    sortable = [key_of(d) for d in definitions if d.field_type not in UNSORTABLE_TYPES]
    sort = next((p for p in parameters if p.get("in") == "query" and p.get("name") == "sort"), None)
    if sort is None or not sortable:
        return
    names = [name for key in sortable for name in (f"cf_{key}", f"-cf_{key}")]
    schema = sort.setdefault("schema", {})
    if isinstance(schema.get("enum"), list):
        schema["enum"] = [*schema["enum"], *names]
    sort["description"] = (
        f"{sort.get('description', '')} This workspace's custom fields sort too: "
        + ", ".join(f"`{name}`" for name in names)
        + " (`-` for descending)."
    ).strip()


def _say_switched_off(path_item: dict, module: str, title: str) -> None:
    note = (
        f"The {title} module is switched off in this workspace: this operation answers 404 with the "
        "module-off problem until an owner or admin switches it on again (its data is kept)."
    )
    for method in _METHODS:
        operation = path_item.get(method)
        if isinstance(operation, dict):
            operation["description"] = f"{note} {operation.get('description', '')}".strip()
            operation["x-module-switched-off"] = module
