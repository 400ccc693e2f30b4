"""Workflows act on lead scores: a branch "rule_score is at least N" creates a task only for leads at or
above N (an unscored lead passes no threshold), a workflow's own conditions take the same comparison, and
a threshold that is not a comparison the workflow knows is refused with the place it is wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Lead, Task
from saas.modules.workflows.runs import advance_due
from saas.modules.workflows.workflows import create_workflow
from tests.modules.workflows.conftest import make_workflow

STATUS_CHANGED = {"type": "record_updated", "record_type": "leads", "field": "status"}


def _scored_leads(fixture, scores: dict[str, int | None]) -> dict[str, object]:
    """Leads named by ``scores``' keys, their scores stored as the scoring job stores them."""
    with tenant_session(fixture.ref) as session:
        ids = {name: leads.create(session, {"first_name": name}).id for name in scores}
        session.execute(
            update(Lead),
            [{"id": ids[name], "rule_score": s, "predicted_score": s} for name, s in scores.items()],
        )
        return ids


def _work_all(fixture, ids: dict[str, object]) -> dict[object, list[str]]:
    """Move every lead to "working", run the due steps; the titles of each lead's tasks."""
    with tenant_session(fixture.ref) as session:
        for lead_id in ids.values():
            leads.update(session, lead_id, {"status": "working"})
        session.commit()
        advance_due(session)
        session.commit()
        found: dict[object, list[str]] = {lead_id: [] for lead_id in ids.values()}
        for lead_id, title in session.execute(select(Task.lead_id, Task.title)):
            found[lead_id].append(title)
        return found


def test_a_branch_on_rule_score_at_least_creates_tasks_only_for_leads_at_or_above(tenant_a):
    ids = _scored_leads(tenant_a, {"Hot": 45, "Edge": 30, "Cold": 29, "Unscored": None})
    make_workflow(
        tenant_a,
        STATUS_CHANGED,
        [{"type": "branch", "condition": {"field": "rule_score", "op": "at_least", "value": "30"}},
         {"type": "create_task", "title": "Call the hot lead"}],
    )  # fmt: skip
    tasks = _work_all(tenant_a, ids)
    assert tasks == {
        ids["Hot"]: ["Call the hot lead"],
        ids["Edge"]: ["Call the hot lead"],
        ids["Cold"]: [],
        ids["Unscored"]: [],
    }


def test_a_workflow_condition_predicted_score_at_most_enrols_only_low_leads(tenant_a):
    ids = _scored_leads(tenant_a, {"Low": 10, "Mid": 50, "High": 51, "Unscored": None})
    make_workflow(
        tenant_a,
        STATUS_CHANGED,
        [{"type": "create_task", "title": "Nurture"}],
        conditions=[{"field": "predicted_score", "op": "at_most", "value": "50"}],
    )
    tasks = _work_all(tenant_a, ids)
    assert tasks == {ids["Low"]: ["Nurture"], ids["Mid"]: ["Nurture"], ids["High"]: [], ids["Unscored"]: []}


def test_an_unknown_comparison_is_refused_where_it_is(tenant_a):
    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError) as refused:
        create_workflow(
            session,
            {"name": "Bad", "trigger": STATUS_CHANGED, "steps": [
                {"type": "branch", "condition": {"field": "rule_score", "op": "at_leastish", "value": "3"}}]},
            user_id=None,
            base_url="http://localhost/",
        )  # fmt: skip
    assert list(refused.value.errors) == ["steps.0.condition.op"]
