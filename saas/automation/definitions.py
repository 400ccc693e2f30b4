"""The checks every automation's definition uses for its numbers and texts (one set of rules for the
sequence and workflow editors), each error keyed by where it is (``steps.2.title``)."""

from __future__ import annotations

from typing import Any

from saas.i18n import N_


class FieldErrors:
    """Messages by where they belong, gathered while a whole definition is checked."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.found.setdefault(where, []).append(message)


def clean_int(
    value: Any, where: str, errors: FieldErrors, low: int, high: int, default: int | None = None
) -> int:
    """A whole number from ``low`` to ``high`` (``default`` when empty, if given)."""
    if value in (None, "") and default is not None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(where, N_("Enter a whole number."))
        return low
    if not low <= number <= high:
        errors.add(where, N_("Out of range."))
    return number


def clean_text(value: Any, where: str, errors: FieldErrors, limit: int, *, required: bool = False) -> str:
    """A stripped text of at most ``limit`` characters."""
    text = str(value or "").strip()
    if required and not text:
        errors.add(where, N_("Required."))
    if len(text) > limit:
        errors.add(where, N_("Too long."))
    return text
