"""Lead scores: rule points anyone can read, and a predicted chance of converting learned from the
workspace's own converted and disqualified leads (scikit-learn's logistic regression), with the factors
behind each score. Both are stored on the lead (sortable in lists) by the daily scoring job.

Features count only what was known before a lead was decided: activity on its contact after conversion
would otherwise teach the model that converted leads are the engaged ones. A workspace needs
``MIN_PER_OUTCOME`` converted and as many disqualified leads before it gets a predicted score.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from saas.db import TenantRef, tenant_session
from saas.modules.core import scoring
from saas.modules.core.models import Activity, Contact
from saas.modules.core.scoring import ScoreRule
from saas.modules.sfa.models import Lead, LeadScoreModel

MIN_PER_OUTCOME = 10
FEATURES = ("has_phone", "has_company", "has_title", "activities", "engagement")
"""Phone, company and job title given; activities logged on the lead; timeline entries (opened or clicked
mail, meetings, visits the modules record) of the contact with its email, before the lead was decided."""
RULES = (
    ScoreRule("has_phone", 15),
    ScoreRule("has_company", 15),
    ScoreRule("has_title", 10),
    ScoreRule("activities", 10, cap=30),
    ScoreRule("engagement", 5, cap=30),
)
"""Rule points per feature, in ``FEATURES``' order (core's machinery, shared with contact scores)."""
SCORE_JOB = "saas.modules.sfa.scoring.score_all_workspaces"


def _feature_rows(session: Session) -> list[tuple[Any, str, list[float]]]:
    """(lead id, status, raw feature values) of every lead."""
    decided = func.coalesce(Lead.converted_at, literal(datetime.max.replace(tzinfo=UTC)))
    activities = (
        select(func.count())
        .select_from(Activity)
        .where(
            Activity.subject_type == "lead", Activity.subject_id == Lead.id, Activity.occurred_at < decided
        )
        .scalar_subquery()
    )
    engagement = (
        select(func.count())
        .select_from(Activity)
        .join(Contact, Contact.id == Activity.contact_id)
        .where(
            Lead.email.is_not(None),
            func.lower(Contact.email) == func.lower(Lead.email),
            Activity.occurred_at < decided,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Lead.id, Lead.status, Lead.phone, Lead.company, Lead.title, activities, engagement)
    )
    return [
        (
            lead_id,
            status,
            [float(bool(phone)), float(bool(company)), float(bool(title)), float(acts), float(eng)],
        )
        for lead_id, status, phone, company, title, acts, eng in rows
    ]


def rule_score(values: list[float]) -> int:
    """Points per feature (counts capped), at most 100."""
    return scoring.rule_score(RULES, values)


def _model_inputs(values: list[float]) -> list[float]:
    # Counts on a log scale: the tenth activity says less than the first.
    return [math.log1p(value) for value in values]


def train(session: Session, now: datetime | None = None) -> LeadScoreModel:
    """Fit the workspace's model on its decided leads (or record that there are too few)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rows = [
        (status, values)
        for _, status, values in _feature_rows(session)
        if status in ("converted", "disqualified")
    ]
    converted = sum(1 for status, _ in rows if status == "converted")
    disqualified = len(rows) - converted
    parameters = None
    if converted >= MIN_PER_OUTCOME and disqualified >= MIN_PER_OUTCOME:
        x = np.array([_model_inputs(values) for _, values in rows])
        y = np.array([status == "converted" for status, _ in rows])
        scaler = StandardScaler().fit(x)
        model = LogisticRegression().fit(scaler.transform(x), y)
        parameters = {
            "features": list(FEATURES),
            "means": scaler.mean_.tolist(),
            "scales": scaler.scale_.tolist(),
            "coefficients": model.coef_[0].tolist(),
            "intercept": float(model.intercept_[0]),
        }
    stored = session.get(LeadScoreModel, 1) or LeadScoreModel(id=1)
    stored.trained_at = now or datetime.now(UTC)
    stored.converted, stored.disqualified, stored.parameters = converted, disqualified, parameters
    session.add(stored)
    session.flush()
    return stored


def predict(parameters: dict[str, Any], values: list[float]) -> tuple[int, list[list[Any]]]:
    """The chance of converting in percent, and the three largest factors ``[feature, contribution]``."""
    scaled = [
        (value - mean) / scale
        for value, mean, scale in zip(
            _model_inputs(values), parameters["means"], parameters["scales"], strict=True
        )
    ]
    contributions = [c * z for c, z in zip(parameters["coefficients"], scaled, strict=True)]
    logit = parameters["intercept"] + sum(contributions)
    chance = 1 / (1 + math.exp(-logit))
    factors = sorted(zip(parameters["features"], contributions, strict=True), key=lambda f: -abs(f[1]))
    return round(chance * 100), [[name, round(value, 2)] for name, value in factors[:3] if abs(value) >= 0.01]


def score_leads(session: Session) -> dict[str, int]:
    """Retrain, then store every lead's rule and predicted score (one UPDATE statement for all)."""
    model = train(session)
    changes = []
    for lead_id, _, values in _feature_rows(session):
        predicted, factors = predict(model.parameters, values) if model.parameters else (None, None)
        changes.append({"id": lead_id, "rule_score": rule_score(values), "predicted_score": predicted,
                        "score_factors": factors})  # fmt: skip
    if changes:
        session.execute(update(Lead), changes)
    return {"leads": len(changes), "predicted": int(model.parameters is not None)}


def score_all_workspaces() -> dict[str, Any]:
    """Periodic job (daily): :func:`score_leads` for every writable tenant with the sales module on."""
    from saas.jobs.fanout import for_each_tenant

    def work(ref: TenantRef) -> dict[str, int]:
        with tenant_session(ref) as session:
            return score_leads(session)

    report = for_each_tenant("score_leads", work, module="sfa")
    return {**report.as_dict(), "leads": sum(r["leads"] for r in report.results.values())}
