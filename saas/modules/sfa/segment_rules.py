"""The segment rule sales adds: contacts whose converted lead scored at least N (rule points or the
predicted chance, both 0..100). Segments hold contacts, and a lead's score travels to the contact it
became; leads never converted are in the leads list's score filters instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists

from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.core.scoring import score_floor, score_floor_errors
from saas.modules.registry import SegmentField
from saas.modules.sfa.models import Lead

SCORES = {"rule_score_at_least": Lead.rule_score, "predicted_score_at_least": Lead.predicted_score}


def _condition(op: str, value: Any, now: datetime) -> ColumnElement[bool]:
    return exists().where(Lead.converted_contact_id == Contact.id, SCORES[op] >= score_floor(value))


LEAD_SCORE = SegmentField(
    key="lead_score",
    label=N_("Converted lead's score"),
    ops=(
        ("rule_score_at_least", N_("rule points at least (0 to 100)")),
        ("predicted_score_at_least", N_("predicted chance at least (0 to 100)")),
    ),
    condition=_condition,
    check=score_floor_errors,
)
