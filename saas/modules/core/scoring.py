"""Rule points: a score of 0 to 100 made of points per feature (a phone given, each activity logged), each
capped; lead scores (sales) and contact scores both count them with :func:`rule_score`.

A contact's points come from its own fields and timeline (:data:`CONTACT_RULES`) and from the score
signals modules declare in the registry (website visits, email engagement) while they are on. The hourly
job stores them on the contact (``rule_score``, ``score_factors``) in one UPDATE of the contacts whose
score changed, so lists sort and filter by it, and segments and workflows test it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update

from saas.db import TenantRef, TenantSession, db, tenant_session
from saas.i18n import N_
from saas.modules.core.activities import LOGGED_KINDS
from saas.modules.core.models import Activity, Contact
from saas.modules.registry import ScoreSignal, SegmentField, registry
from saas.modules.switches import enabled_module_keys

MAX_SCORE = 100
SCORE_JOB = "saas.modules.core.scoring.score_all_workspaces"


@dataclass(frozen=True)
class ScoreRule:
    """Points per unit of one feature of a record."""

    feature: str
    points: int
    cap: int | None = None
    """The most a count earns; None: a yes/no feature (0 or 1) worth ``points`` once."""

    @property
    def most(self) -> int:
        return self.points if self.cap is None else self.cap

    def earned(self, value: float) -> float:
        return min(self.points * value, self.most)

    def earned_in_sql(self, value: ColumnElement[Any]) -> ColumnElement[int]:
        return func.least(self.points * value, self.most)


def rule_score(rules: Sequence[ScoreRule], values: Sequence[float]) -> int:
    """The points ``values`` (one per rule, in order) earn, at most :data:`MAX_SCORE`."""
    return min(MAX_SCORE, round(sum(rule.earned(value) for rule, value in zip(rules, values, strict=True))))


# --- contacts ------------------------------------------------------------------------------------------

ACTIVITY_DAYS = 90
"""Activities logged within this many days count: an old call says little about interest now."""
CONTACT_RULES = (
    ScoreRule("has_phone", 15),
    ScoreRule("has_account", 15),
    ScoreRule("has_title", 10),
    ScoreRule("activities", 10, cap=30),
)


def _given(column: Any) -> Any:
    return lambda now: case((and_(column.is_not(None), column != ""), 1), else_=0)


def _at_account(now: datetime) -> Any:
    return case((Contact.account_id.is_(None), 0), else_=1)


def _activities(now: datetime) -> Any:
    return (
        select(func.count())
        .where(
            Activity.contact_id == Contact.id,
            Activity.kind.in_(LOGGED_KINDS),
            Activity.occurred_at >= now - timedelta(days=ACTIVITY_DAYS),
        )
        .scalar_subquery()
    )


OWN_SIGNALS = (
    ScoreSignal(CONTACT_RULES[0], N_("Phone given"), _given(Contact.phone)),
    ScoreSignal(CONTACT_RULES[1], N_("Works at an account"), _at_account),
    ScoreSignal(CONTACT_RULES[2], N_("Job title given"), _given(Contact.title)),
    ScoreSignal(CONTACT_RULES[3], N_("Activities logged in the last 90 days"), _activities),
)  # fmt: skip
"""Core's own signals: fields and the contact's logged timeline entries (notes, calls, meetings, emails)."""


def contact_signals(enabled: set[str]) -> list[ScoreSignal]:
    """Core's signals, then those of the ``enabled`` modules."""
    return [*OWN_SIGNALS, *registry.score_signals(enabled)]


def factor_labels(enabled: set[str] | None = None) -> dict[str, str]:
    """Each factor's label (marked with ``N_``) by feature name; every module's when ``enabled`` is None."""
    modules = enabled if enabled is not None else {module.key for module in registry}
    return {signal.rule.feature: signal.label for signal in contact_signals(modules)}


def score_contacts(session: TenantSession, now: datetime | None = None) -> int:
    """Store every contact's rule points and the points behind them; returns how many contacts changed.

    One statement: the scores are computed in a derived table and written only where they differ, so an
    unchanged workspace writes nothing (and ``updated_at`` is the person's edits, not this job's)."""
    now = now or datetime.now(UTC)
    signals = contact_signals(enabled_module_keys(db.session, session.tenant.id))
    earned = [signal.rule.earned_in_sql(signal.count(now)) for signal in signals]
    pairs = [part for signal, points in zip(signals, earned, strict=True)
             for part in (literal(signal.rule.feature), func.nullif(points, 0))]  # fmt: skip
    scored = select(
        Contact.id.label("id"),
        func.least(MAX_SCORE, sum(earned[1:], earned[0])).label("score"),
        func.jsonb_strip_nulls(func.jsonb_build_object(*pairs)).label("factors"),
    ).subquery("scored")
    changed = session.execute(
        update(Contact)
        .where(
            Contact.id == scored.c.id,
            or_(
                Contact.rule_score.is_distinct_from(scored.c.score),
                Contact.score_factors.is_distinct_from(scored.c.factors),
            ),
        )
        .values(rule_score=scored.c.score, score_factors=scored.c.factors, updated_at=Contact.updated_at)
        .execution_options(synchronize_session=False)
    )
    return changed.rowcount


def score_all_workspaces() -> dict[str, Any]:
    """Periodic job (hourly): :func:`score_contacts` for every writable tenant."""
    from saas.jobs.fanout import for_each_tenant

    def work(ref: TenantRef) -> int:
        with tenant_session(ref) as session:
            changed = score_contacts(session)
            session.commit()
            return changed

    report = for_each_tenant("score_contacts", work)
    return {**report.as_dict(), "contacts": sum(report.results.values())}


# --- thresholds (segments, lists) ------------------------------------------------------------------------


def score_floor(value: Any) -> int | None:
    """A threshold from the API (an int) or a page (digits); None when it is neither or out of 0..100."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_SCORE else None


def score_floor_errors(op: str, value: Any) -> list[str]:
    return [] if score_floor(value) is not None else ["Give a whole number from 0 to 100."]


def _segment_condition(op: str, value: Any, now: datetime) -> ColumnElement[bool]:
    # A contact not scored yet (NULL) is in neither: it has not earned "at most N" either.
    threshold = score_floor(value)
    return Contact.rule_score >= threshold if op == "at_least" else Contact.rule_score <= threshold


CONTACT_SCORE = SegmentField(
    key="contact_score",
    label=N_("Contact's score"),
    ops=(("at_least", N_("at least (0 to 100)")), ("at_most", N_("at most (0 to 100)"))),
    condition=_segment_condition,
    check=score_floor_errors,
)
