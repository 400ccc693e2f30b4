"""The checks every automation's definition uses for its numbers and texts (one set of rules for the
sequence and workflow editors), each error keyed by where it is (``steps.2.title``)."""

from __future__ import annotations

from collections.abc import Callable
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


def clean_steps(
    value: Any,
    errors: FieldErrors,
    most: int,
    too_many: str,
    clean_step: Callable[[Any, int, int, FieldErrors], Any],
) -> list[Any]:
    """Every step checked by ``clean_step(raw, index, count, errors)``; errors under ``steps`` when they are
    not a list, more than ``most`` (``too_many`` says so) or none."""
    steps = value or []
    if not isinstance(steps, list):
        errors.add("steps", N_("A list of steps."))
        steps = []
    if len(steps) > most:
        errors.add("steps", too_many)
    clean = [clean_step(raw, index, len(steps), errors) for index, raw in enumerate(steps)]
    if not clean:
        errors.add("steps", N_("Add at least one step."))
    return clean
