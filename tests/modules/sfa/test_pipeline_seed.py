"""Every tenant has the default sales pipeline, whether provisioned new or migrated from before SFA."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.sfa.models import Pipeline, Stage
from saas.tenants.migrations import migrate_tenant

EXPECTED = [
    ("Prospecting", 10, "open"),
    ("Qualification", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def _pipeline(fixture):
    with tenant_session(fixture.ref) as session:
        pipelines = session.scalars(select(Pipeline)).all()
        stages = session.execute(
            select(Stage.name, Stage.probability, Stage.kind).order_by(Stage.position)
        ).all()
        return [(p.name, p.is_default) for p in pipelines], [tuple(s) for s in stages]


def test_new_tenant_gets_the_default_pipeline(tenant_a):
    assert _pipeline(tenant_a) == ([("Sales", True)], EXPECTED)


def test_tenant_migrated_from_before_sfa_gets_the_same_pipeline(make_tenant):
    fixture = make_tenant("old")
    assert migrate_tenant(fixture.ref, target="t0002").status == "upgraded"
    assert migrate_tenant(fixture.ref, target="head").status == "upgraded"
    assert _pipeline(fixture) == ([("Sales", True)], EXPECTED)
