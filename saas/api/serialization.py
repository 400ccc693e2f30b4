"""Output schemas whose ``dump`` runs a plan compiled once from their fields: marshmallow's own output,
without its per-value machinery.

A list page dumps ~600 values; marshmallow resolves each through five calls (``serialize``,
``get_value``, ``get_attribute``, ``utils.get_value``, ``_serialize``), which cost as much as the query.
The plan reads each attribute as ``utils.get_value`` would and calls the field's own ``_serialize``
(inlined for the plain types), so the output is the same by construction; a schema with dump hooks,
dotted attributes or overridden accessors keeps marshmallow's path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

Dump = Callable[[Any], Any]
_Convert = Callable[[Any, Any], Any]  # (value, the object it came from) -> JSON-ready value


class CompiledDumpSchema(Schema):
    """A schema that dumps through a compiled plan when it can (see the module's docstring)."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        plan = self.__dict__.get("_dump_plan", False)
        if plan is False:
            plan = self.__dict__["_dump_plan"] = compile_dump(self)
        if plan is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else bool(many)
        if many and obj is not None:
            return [plan(each) for each in obj]
        return plan(obj)


def compile_dump(schema: Schema) -> Dump | None:
    """What ``schema.dump(obj, many=False)`` returns for ``obj``, as one function; None when the schema
    does more than read and format attributes (hooks, a custom ``get_attribute``)."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        return None
    if type(schema).get_attribute is not Schema.get_attribute:
        return None
    steps = tuple(_step(name, field, schema) for name, field in schema.dump_fields.items())
    dict_class = schema.dict_class

    def dump(obj: Any) -> Any:
        result = dict_class()
        # utils.get_value: an item if the object has items (a dict), else the attribute; asked once.
        by_item = hasattr(obj, "__getitem__")
        for key, source, kind, convert, default in steps:
            if kind is _OWN:
                value = convert(None, obj)
            else:
                value = _item(obj, source) if by_item else getattr(obj, source, missing)
                if value is missing:
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                if value is None and kind is not _OTHER:
                    pass  # the inlined types dump None as None
                elif kind is _TEXT:
                    value = value if type(value) is str else _text(value)
                elif kind is _STR:
                    value = str(value)
                else:
                    value = convert(value, obj)
            if value is not missing:
                result[key] = value
        return result

    return dump


_TEXT, _STR, _INLINE, _OTHER, _OWN = "text", "str", "inline", "other", "own"
"""How a step formats: String, UUID, another inlined type (None stays None), the field's own
``_serialize``, or the field's own ``serialize`` (marshmallow's whole path for this one field)."""


def _item(obj: Any, source: str) -> Any:
    try:
        return obj[source]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, source, missing)


def _step(name: str, field: fields.Field, schema: Schema) -> tuple[str, str, str, _Convert, Any]:
    key = field.data_key if field.data_key is not None else name
    source = field.attribute if field.attribute is not None else name
    plain = (
        field._CHECK_ATTRIBUTE
        and "." not in source
        and type(field).get_value is fields.Field.get_value
        and type(field).serialize is fields.Field.serialize
    )
    if not plain:
        own = partial(field.serialize, name, accessor=schema.get_attribute)
        return key, source, _OWN, lambda _, obj: own(obj), None
    kind, convert = _converter(field, name)
    return key, source, kind, convert, field.dump_default


def _converter(field: fields.Field, name: str) -> tuple[str, _Convert]:
    """The field's ``_serialize``, inlined for the types a record page is made of."""
    kind = type(field)
    if kind is fields.String:
        return _TEXT, _text_or_none
    if kind is fields.UUID:
        return _STR, _str_or_none
    if kind is fields.DateTime and _is_plain_format(field):
        format_value = field.SERIALIZATION_FUNCS[field.format or field.DEFAULT_FORMAT]
        return _INLINE, lambda value, obj: format_value(value)
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        mapping_type = field.mapping_type
        return _INLINE, lambda value, obj: mapping_type(value)
    if kind is fields.Nested and not field.many and not field.schema.many:
        nested = compile_dump(field.schema)
        if nested is not None:
            return _INLINE, lambda value, obj: nested(value)
    if kind is fields.List:
        inner_kind, inner = _converter(field.inner, name)
        if inner_kind is _INLINE:  # its None-free form: the list may hold a None
            inline = inner
            inner = lambda value, obj: None if value is None else inline(value, obj)  # noqa: E731
        return _INLINE, lambda value, obj: [inner(each, obj) for each in value]
    return _OTHER, lambda value, obj: field._serialize(value, name, obj)


def _text_or_none(value: Any, obj: Any) -> str | None:
    return None if value is None else _text(value)


def _str_or_none(value: Any, obj: Any) -> str | None:
    return None if value is None else str(value)


def _is_plain_format(field: fields.Field) -> bool:
    return (field.format or field.DEFAULT_FORMAT) in field.SERIALIZATION_FUNCS


def _text(value: Any) -> str:
    # utils.ensure_text_type
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
