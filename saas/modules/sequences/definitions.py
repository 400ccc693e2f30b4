"""What a sequence may say: a name, an owner and ordered steps (an email with merge fields, a task for the
salesperson, a wait), checked and normalised here for the page and the API, every error keyed by where it
is (``steps.2.subject``). The number and text checks are the engine's (:mod:`saas.automation.definitions`)."""

from __future__ import annotations

import uuid
from typing import Any

from saas.automation.definitions import FieldErrors, clean_int, clean_steps, clean_text
from saas.errors import ValidationError
from saas.i18n import N_

STEPS: dict[str, str] = {
    "email": N_("Send an email"),
    "task": N_("Create a task"),
    "wait": N_("Wait"),
}
UNITS: dict[str, int] = {"hours": 60, "days": 1440}
"""Minutes per unit of a wait."""
UNIT_LABELS: dict[str, str] = {"hours": N_("hours"), "days": N_("days")}
MAX_STEPS = 30
MAX_BODY = 20_000


def _clean_step(raw: Any, index: int, count: int, errors: FieldErrors) -> dict[str, Any]:
    where = f"steps.{index}"
    if not isinstance(raw, dict) or raw.get("type") not in STEPS:
        errors.add(f"{where}.type", N_("Choose email, task or wait."))
        return {"type": raw.get("type") if isinstance(raw, dict) else None}
    kind = raw["type"]
    if kind == "email":
        from saas.modules.marketing.content import check_merge_fields

        subject = clean_text(raw.get("subject"), f"{where}.subject", errors, 200, required=True)
        body = clean_text(raw.get("body"), f"{where}.body", errors, MAX_BODY, required=True)
        try:
            check_merge_fields(subject=subject, body=body)
        except ValidationError as error:
            for name, messages in error.errors.items():
                for message in messages:
                    errors.add(f"{where}.{name}", message)
        return {"type": kind, "subject": subject, "body": body}
    if kind == "task":
        title = clean_text(raw.get("title"), f"{where}.title", errors, 200, required=True)
        return {
            "type": kind,
            "title": title,
            "due_days": clean_int(raw.get("due_days"), f"{where}.due_days", errors, 0, 365, 0),
        }
    unit = raw.get("unit") or "days"
    if unit not in UNITS:
        errors.add(f"{where}.unit", N_("Choose hours or days."))
    return {
        "type": kind,
        "amount": clean_int(raw.get("amount"), f"{where}.amount", errors, 1, 365),
        "unit": unit,
    }


def clean_sequence(data: dict[str, Any]) -> dict[str, Any]:
    """The sequence ``data`` describes (name, owner_user_id, steps), normalised; raises a ValidationError
    naming every wrong part."""
    errors = FieldErrors()
    clean: dict[str, Any] = {"name": clean_text(data.get("name"), "name", errors, 200, required=True)}
    owner = data.get("owner_user_id")
    try:
        clean["owner_user_id"] = uuid.UUID(str(owner)) if owner not in (None, "") else None
    except ValueError:
        errors.add("owner_user_id", N_("Not a valid id."))
    clean["steps"] = clean_steps(data.get("steps"), errors, MAX_STEPS, N_("At most 30 steps."), _clean_step)
    if errors.found:
        raise ValidationError(N_("Please correct the sequence."), errors.found)
    return clean
