"""Breaking changes between two OpenAPI documents of the API, as docs/api.md's versioning policy defines
them; a change is announced when the older document marked its operation or field ``deprecated``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Change:
    where: str
    what: str
    announced: bool

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class Document:
    def __init__(self, document: dict) -> None:
        self.document = document

    def follow(self, schema: Any) -> dict:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            node: Any = self.document
            for key in schema["$ref"].removeprefix("#/").split("/"):
                node = node.get(key, {})
            schema, seen = node, seen + 1
        return schema if isinstance(schema, dict) else {}

    def operations(self) -> dict[tuple[str, str], dict]:
        return {
            (path, method): item[method]
            for path, item in self.document.get("paths", {}).items()
            for method in METHODS
            if method in item
        }


def _types(schema: dict) -> frozenset[str]:
    kind = schema.get("type")
    if kind is None:
        return frozenset()
    return frozenset([kind] if isinstance(kind, str) else kind)


def _json_schema(container: dict | None) -> dict | None:
    content = (container or {}).get("content", {})
    media = content.get("application/json")
    return media.get("schema") if media else None


def _compare_answer(old: Document, new: Document, a: Any, b: Any, where: str, depth: int = 0) -> Iterator:
    """What a client reading ``a``'s answers can no longer rely on in ``b``'s."""
    a, b = old.follow(a), new.follow(b)
    if depth > 8 or not a or not b:
        return
    if _types(a) and _types(b) and not _types(b) <= _types(a):
        yield where, f"answer type {sorted(_types(a))} became {sorted(_types(b))}", a.get("deprecated", False)
    required_a = set(a.get("required", []))
    properties_b = b.get("properties", {})
    for name, schema in a.get("properties", {}).items():
        deprecated = bool(old.follow(schema).get("deprecated") or schema.get("deprecated"))
        if name not in properties_b:
            yield f"{where}.{name}", "field removed from the answer", deprecated
            continue
        if name in required_a and name not in set(b.get("required", [])):
            yield f"{where}.{name}", "field no longer always answered", deprecated
        yield from _compare_answer(old, new, schema, properties_b[name], f"{where}.{name}", depth + 1)
    if "items" in a and "items" in b:
        yield from _compare_answer(old, new, a["items"], b["items"], f"{where}[]", depth + 1)


def _compare_request(old: Document, new: Document, a: Any, b: Any, where: str, depth: int = 0) -> Iterator:
    """What a client sending ``a``'s requests would have refused by ``b``."""
    a, b = old.follow(a), new.follow(b)
    if depth > 8 or not a or not b:
        return
    if _types(a) and _types(b) and not _types(a) <= _types(b):
        announced = a.get("deprecated", False)
        yield where, f"request type {sorted(_types(a))} became {sorted(_types(b))}", announced
    properties_a = a.get("properties", {})
    for name in set(b.get("required", [])) - set(a.get("required", [])):
        yield f"{where}.{name}", "field became required in the request", False
    for name, schema in properties_a.items():
        deprecated = bool(old.follow(schema).get("deprecated") or schema.get("deprecated"))
        if name not in b.get("properties", {}):
            if b.get("additionalProperties") is False:
                yield f"{where}.{name}", "field no longer accepted in the request", deprecated
            continue
        yield from _compare_request(old, new, schema, b["properties"][name], f"{where}.{name}", depth + 1)
    if "items" in a and "items" in b:
        yield from _compare_request(old, new, a["items"], b["items"], f"{where}[]", depth + 1)


def _parameters(operation: dict) -> dict[tuple[str, str], dict]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", []) if "name" in p}


def breaking_changes(previous: dict, current: dict) -> list[Change]:
    """Every change from ``previous`` to ``current`` that can break a client written against it."""
    old, new = Document(previous), Document(current)
    found: list[Change] = []
    new_operations = new.operations()
    for key, before in old.operations().items():
        where = f"{key[1].upper()} {key[0]}"
        deprecated = bool(before.get("deprecated"))
        after = new_operations.get(key)
        if after is None:
            found.append(Change(where, "operation removed", deprecated))
            continue
        if before.get("operationId") != after.get("operationId"):
            found.append(Change(where, f"operationId {before.get('operationId')} changed", deprecated))
        params_before, params_after = _parameters(before), _parameters(after)
        for name, parameter in params_after.items():
            if parameter.get("required") and not params_before.get(name, {}).get("required"):
                found.append(Change(where, f"parameter {name[1]} became required", deprecated))
        for name, parameter in params_before.items():
            if name not in params_after:
                announced = deprecated or parameter.get("deprecated", False)
                found.append(Change(where, f"parameter {name[1]} removed", announced))
        body_before, body_after = before.get("requestBody") or {}, after.get("requestBody") or {}
        if body_after.get("required") and body_before.get("required") is not True:
            found.append(Change(where, "request body became required", deprecated))
        changes = _compare_request(
            old, new, _json_schema(before.get("requestBody")), _json_schema(after.get("requestBody")), where
        )
        for code, answer in before.get("responses", {}).items():
            if str(code).startswith("2"):
                later = after.get("responses", {}).get(code)
                if later is None:
                    found.append(Change(where, f"answer {code} removed", deprecated))
                    continue
                changes = [
                    *changes,
                    *_compare_answer(old, new, _json_schema(answer), _json_schema(later), f"{where} {code}"),
                ]
        found += [Change(place, what, announced or deprecated) for place, what, announced in changes]
    return found
