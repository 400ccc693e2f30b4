"""Keyset pagination shared by every list of tenant records (contacts, deals, tasks, the timeline).

A page is found by the sort key of the last row seen, never by OFFSET, so page 2,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
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
