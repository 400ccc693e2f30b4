"""Bulk actions from a list page (``/t/<slug>/bulk/<record_type>``): the selected rows, or all that match the
list's filter, get an owner, a stage or status, are deleted or exported; large selections show a job's live
progress at ``/t/<slug>/bulk/jobs/<job_id>``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from saas.billing.entitlements import allowed_when_read_only
from saas.errors import NotFound, ValidationError
from saas.i18n import N_, translate
from saas.modules.core import bulk, pickers
from saas.modules.core.blueprints import pages
from saas.tenants.routing import current_tenant_session

BULK_ACTION_LABELS = {
    "assign_owner": N_("Assign an owner"),
    "set_stage": N_("Change stage or status"),
    "add_tag": N_("Add a tag"),
    "add_to_list": N_("Add to a static list"),
    "delete": N_("Delete"),
}
VALUE_INPUTS = {"assign_owner": "owner", "set_stage": "stage", "add_tag": "tag", "add_to_list": "list"}
"""The form's input holding the new value of each action that sets one."""


def _list_url() -> str:
    """Where the list page that posted is (with its filter): a path of this workspace, nothing else."""
    given = request.form.get("next", "")
    home = f"/t/{g.tenant.slug}/"
    return given if given.startswith(home) and "//" not in given and "\\" not in given else home


def _selection() -> dict[str, Any]:
    if request.form.get("scope") == "matching":
        return {"query": dict(parse_qsl(request.form.get("query", "")))}
    return {"ids": request.form.getlist("ids")}


@pages.app_template_global()
def bulk_controls(pages_of: Any) -> dict[str, Any] | None:
    """What a list page's bulk action bar offers for its record type (None: no bulk actions there)."""
    from saas.modules.core.views.records import member_choices

    session = current_tenant_session()
    table = pages_of.service.model.__tablename__
    try:
        kind = pickers.pickable_type(session, table)
    except NotFound:
        return None
    lists = bulk.list_choices(session, kind)
    actions = bulk.actions_of(kind, with_lists=bool(lists))
    if g.membership.role not in bulk.DELETE_ROLES:
        actions.remove("delete")
    return {
        "table": table,
        "actions": [(action, BULK_ACTION_LABELS[action]) for action in actions],
        "owners": member_choices() if "assign_owner" in actions else [],
        "stages": bulk.stage_choices(session, kind) if "set_stage" in actions else [],
        "tags": "add_tag" in actions,
        "lists": lists,
        "threshold": bulk.JOB_THRESHOLD,
    }


@pages.post("/bulk/<record_type>")
def bulk_action(record_type: str):
    session = current_tenant_session()
    kind = pickers.pickable_type(session, record_type)
    action = request.form.get("action", "")
    value = request.form.get(VALUE_INPUTS.get(action, ""), "")
    back = _list_url()
    try:
        outcome = bulk.perform(session, kind, action, value, g.membership.role, list_url=back, **_selection())
    except ValidationError as error:
        messages = [message for errors in error.errors.values() for message in errors]
        flash(" ".join([translate(error.detail), *map(translate, messages)]), "error")
        return redirect(back, 303)
    if outcome.job_id is not None:
        return redirect(url_for("core.bulk_job", job_id=outcome.job_id), 303)
    report = outcome.report
    flash(ngettext("%(num)d record changed.", "%(num)d records changed.", report.done), "success")
    if report.failed:
        reasons = "; ".join(bulk.shown_failure(failure) for failure in report.failures[:3])
        flash(ngettext("%(num)d record was refused: %(reasons)s", "%(num)d records were refused: %(reasons)s",
                       report.failed, reasons=reasons), "error")  # fmt: skip
    return redirect(back, 303)


@pages.post("/bulk/<record_type>/export")
@allowed_when_read_only  # taking one's data out stays open in a read-only workspace
def bulk_export(record_type: str):
    session = current_tenant_session()
    kind = pickers.pickable_type(session, record_type)
    try:
        selected = bulk.selected_ids(session, kind, **_selection())
    except ValidationError as error:
        flash(translate(error.detail), "error")
        return redirect(_list_url(), 303)
    body = "".join(bulk.export_csv(session, kind, selected))
    disposition = f'attachment; filename="{kind.table}.csv"'
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": disposition})


def _progress(job_id: str) -> dict[str, Any]:
    return bulk.progress_of(g.tenant.id, job_id)


@pages.get("/bulk/jobs/<job_id>")
def bulk_job(job_id: str):
    progress = _progress(job_id)
    return render_template(
        "core/bulk_job.html", progress=progress, job_id=job_id, shown_failure=bulk.shown_failure,
        action_label=gettext(BULK_ACTION_LABELS.get(progress["action"], progress["action"])),
    )  # fmt: skip


@pages.get("/bulk/jobs/<job_id>/progress")
def bulk_job_progress(job_id: str):
    return jsonify(_progress(job_id))
