"""The pipeline board /t/<slug>/pipeline: a column per stage with its deal cards and totals per currency.

Cards move by drag and drop (``static/sfa-kanban.js`` posts to the deal's move page) or, without a mouse
or script, by each card's own form.
"""

from __future__ import annotations

from flask import g, render_template, request

from saas.errors import NotFound
from saas.i18n import N_
from saas.modules.core.views.records import workspace_people
from saas.modules.settings import ADMIN_ROLES
from saas.modules.sfa import pipelines
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deals import board
from saas.modules.sfa.models import Pipeline
from saas.tenants.routing import current_tenant_session


def _chosen_pipeline(all_pipelines: list[Pipeline]) -> Pipeline:
    """The pipeline named by ``?pipeline_id=``, else the default one."""
    wanted = request.args.get("pipeline_id")
    if not wanted:
        return pipelines.default_pipeline(current_tenant_session())
    chosen = next((p for p in all_pipelines if str(p.id) == wanted), None)
    if chosen is None:
        raise NotFound(N_("No pipeline with id %(id)s.", id=wanted))
    return chosen


@pages.route("/pipeline")
def kanban():
    session = current_tenant_session()
    all_pipelines = pipelines.list_pipelines(session)
    pipeline = _chosen_pipeline(all_pipelines)
    return render_template(
        "sfa/kanban.html",
        pipeline=pipeline,
        pipelines=all_pipelines,
        columns=board(session, pipeline),
        people=workspace_people(),
        is_admin=g.membership.role in ADMIN_ROLES,
        here=request.full_path.rstrip("?"),
    )
