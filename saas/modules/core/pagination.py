"""Keyset pagination shared by every list of tenant records (contacts, deals, tasks, the timeline).

A page is found by the sort key of the last row seen, never by OFFSET, so page 2,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from saas.errors import ValidationError

Row = TypeVar("Row")


@dataclass
class Page(Generic[Row]):
    data: list[Row]
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    """One part of a list's order: the SQL expression, how to read it off a row, how to parse it back."""

    column: ColumnElement[Any]
    read: Callable[[Any], Any]
    parse: Callable[[str], Any] = str


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(value) for value in values]).encode()).decode()


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> tuple[Any, ...]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("cursor does not match the list's order")
        return tuple(key.parse(value) for key, value in zip(keys, values, strict=True))
    except (ValueError, TypeError, binascii.Error) as error:
        raise ValidationError(
            "Invalid cursor.", {"cursor": ["Use a next_cursor from a previous page."]}
        ) from error


def keyset_page(
    session: Session,
    query: Select,
    keys: Sequence[SortKey],
    *,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = False,
) -> Page:
    """One page of ``query`` ordered by ``keys`` (all ascending or all descending), after ``cursor``."""
    columns = [key.column for key in keys]
    query = query.order_by(*(column.desc() if descending else column for column in columns)).limit(limit + 1)
    if cursor:
        after = decode_cursor(cursor, keys)
        position = tuple_(*columns)
        query = query.where(position < after if descending else position > after)
    rows = list(session.scalars(query))
    next_cursor = encode_cursor([key.read(rows[limit - 1]) for key in keys]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


@dataclass(frozen=True)
class ListOrder:
    """A list sorted by one column its reader chose (``sort=amount``, ``sort=-amount``), then by id.

    Empty values come last in both directions. The rows with a value and the empty ones are read by two
    queries (the second only when the first runs out), so each can follow the column's plain index.
    """

    name: str
    """The sort parameter as given; a cursor of this order carries it and is refused by another order."""
    column: ColumnElement[Any]
    id_column: ColumnElement[Any]
    descending: bool = False


def _parser(column: ColumnElement[Any]) -> Callable[[str], Any]:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return str
    if python_type is bool:
        return lambda text: text == "True"
    if python_type in (datetime, date):
        return python_type.fromisoformat
    if python_type in (Decimal, uuid.UUID, int):
        return python_type
    return str


def _decode_ordered_cursor(cursor: str, order: ListOrder) -> tuple[Any, uuid.UUID]:
    try:
        name, value, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if name != order.name:
            raise ValueError("cursor of another order")
        return (None if value is None else _parser(order.column)(value)), uuid.UUID(last_id)
    except (ValueError, TypeError, ArithmeticError, binascii.Error) as error:
        raise ValidationError(
            "Invalid cursor.", {"cursor": ["Use a next_cursor from a previous page of the same order."]}
        ) from error


def ordered_page(
    session: Session, query: Select, order: ListOrder, *, cursor: str | None = None, limit: int = 50
) -> Page:
    """One page of ``query`` (which selects one entity) in ``order``, after ``cursor``, by keyset."""
    column, id_column = order.column, order.id_column
    after_value, after_id = _decode_ordered_cursor(cursor, order) if cursor else (None, None)
    direction = (lambda c: c.desc()) if order.descending else (lambda c: c.asc())
    rows: list[tuple[Any, Any]] = []
    if cursor is None or after_value is not None:
        with_value = query.add_columns(column).where(column.is_not(None))
        if cursor is not None:
            position, after = tuple_(column, id_column), tuple_(literal(after_value, column.type), after_id)
            with_value = with_value.where(position < after if order.descending else position > after)
        with_value = with_value.order_by(direction(column), direction(id_column)).limit(limit + 1)
        rows = [(row[0], row[1]) for row in session.execute(with_value)]
    if len(rows) <= limit:
        empty = query.add_columns(column).where(column.is_(None))
        if after_id is not None and after_value is None:
            empty = empty.where(id_column < after_id if order.descending else id_column > after_id)
        empty = empty.order_by(direction(id_column)).limit(limit + 1 - len(rows))
        rows += [(row[0], row[1]) for row in session.execute(empty)]
    next_cursor = None
    if len(rows) > limit:
        record, value = rows[limit - 1]
        payload = [order.name, None if value is None else str(value), str(record.id)]
        next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return Page([record for record, _ in rows[:limit]], next_cursor)
