"""Pipeline settings /t/<slug>/settings/pipelines (owners and admins): pipelines and their stages.

Every change is a small form posting to its own address; a refused change re-renders the page with the
reason (a stage that still holds deals, a duplicate name...) and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import Conflict, ValidationError
from saas.modules.core.views.records import load_form
from saas.modules.settings import ADMIN_ROLES
from saas.modules.sfa import pipelines
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deal_schemas import NewStageIn, PipelineChangeIn, PipelineIn, StageIn
from saas.modules.sfa.models import STAGE_KINDS
from saas.tenants.routing import current_tenant_session, require_role


def _form(*names: str) -> dict[str, str]:
    return {name: request.form[name] for name in names if name in request.form}


def _change(action: Callable[[], str], form_id: str):
    """Run one settings change for an admin: flash its outcome, or show why it was refused."""
    require_role(*ADMIN_ROLES)
    try:
        outcome = action()
    except (ValidationError, Conflict) as error:
        return _page(message=error.detail, errors=getattr(error, "errors", {}), form_id=form_id), error.status
    flash(outcome)
    return redirect(url_for("sfa.pipeline_settings", _anchor=form_id))


def _page(message: str | None = None, errors: dict | None = None, form_id: str | None = None) -> str:
    session = current_tenant_session()
    return render_template(
        "sfa/pipeline_settings.html",
        pipelines=pipelines.list_pipelines(session),
        deal_counts=pipelines.deal_counts_by_stage(session),
        kinds=STAGE_KINDS,
        message=message,
        errors=errors or {},
        form_id=form_id,
    )


@pages.route("/settings/pipelines", methods=["GET", "POST"])
def pipeline_settings():
    require_role(*ADMIN_ROLES)
    if request.method == "GET":
        return _page()

    def create() -> str:
        data = load_form(PipelineIn(), _form("name"), gettext("Please name the pipeline."))
        created = pipelines.create_pipeline(current_tenant_session(), data)
        return gettext("Pipeline %(name)s created.", name=created.name)

    return _change(create, "new-pipeline")


@pages.route("/settings/pipelines/<uuid:pipeline_id>", methods=["POST"])
def change_pipeline(pipeline_id: uuid.UUID):
    def change() -> str:
        data = load_form(
            PipelineChangeIn(), _form("name", "is_default"), gettext("Please correct the pipeline.")
        )
        return gettext(
            "Pipeline %(name)s saved.",
            name=pipelines.update_pipeline(current_tenant_session(), pipeline_id, data).name,
        )

    return _change(change, f"pipeline-{pipeline_id}")


@pages.route("/settings/pipelines/<uuid:pipeline_id>/delete", methods=["POST"])
def delete_pipeline(pipeline_id: uuid.UUID):
    def delete() -> str:
        pipelines.delete_pipeline(current_tenant_session(), pipeline_id)
        return gettext("Pipeline deleted.")

    return _change(delete, f"pipeline-{pipeline_id}")


@pages.route("/settings/pipelines/<uuid:pipeline_id>/stages", methods=["POST"])
def add_stage(pipeline_id: uuid.UUID):
    def add() -> str:
        data = load_form(
            NewStageIn(), _form("name", "probability", "kind"), gettext("Please correct the new stage.")
        )
        added = pipelines.add_stage(current_tenant_session(), pipeline_id, data)
        return gettext("Stage %(name)s added.", name=added.name)

    return _change(add, f"new-stage-{pipeline_id}")


@pages.route("/settings/stages/<uuid:stage_id>", methods=["POST"])
def change_stage(stage_id: uuid.UUID):
    def change() -> str:
        data = load_form(
            StageIn(), _form("name", "probability", "kind"), gettext("Please correct the stage.")
        )
        saved = pipelines.update_stage(current_tenant_session(), stage_id, data)
        return gettext("Stage %(name)s saved.", name=saved.name)

    return _change(change, f"stage-{stage_id}")


@pages.route("/settings/stages/<uuid:stage_id>/move", methods=["POST"])
def move_stage(stage_id: uuid.UUID):
    def move() -> str:
        offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
        if offset is None:
            raise ValidationError(
                gettext("Move a stage up or down."), {"direction": [gettext("Choose up or down.")]}
            )
        pipelines.move_stage(current_tenant_session(), stage_id, offset)
        return gettext("Stages reordered.")

    return _change(move, f"stage-{stage_id}")


@pages.route("/settings/stages/<uuid:stage_id>/delete", methods=["POST"])
def delete_stage(stage_id: uuid.UUID):
    def delete() -> str:
        pipelines.delete_stage(current_tenant_session(), stage_id)
        return gettext("Stage deleted.")

    return _change(delete, f"stage-{stage_id}")
