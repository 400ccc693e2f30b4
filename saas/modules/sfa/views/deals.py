"""Deal pages under /t/<slug>/deals: core's record pages (filtered list, new, detail, edit, delete) with the
deal's stage history and timeline, and the stage move that the kanban board posts too."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from saas.errors import ValidationError
from saas.i18n import N_, translate
from saas.modules.core.models import Contact
from saas.modules.core.views.columns import TIMESTAMP_COLUMNS, ListColumn
from saas.modules.core.views.records import (
    FormField,
    RecordPages,
    RecordWords,
    Timeline,
    load_form,
    member_choices,
    register_record_pages,
    render_detail,
    workspace_people,
)
from saas.modules.sfa import pipelines
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deal_schemas import DealFilters, DealIn, MoveIn
from saas.modules.sfa.deals import DEAL_SUBJECT, deals
from saas.modules.sfa.models import Deal, Pipeline, Stage
from saas.modules.sfa.quotes import deal_quotes
from saas.modules.sfa.statuses import deal_status_labels, quote_status_labels
from saas.modules.sfa.tasks import tasks
from saas.tenants.routing import current_tenant_session

CHOICE_LIMIT = 500  # a select is no place for more; larger workspaces pick through search later


def stage_label(pipeline: Pipeline, stage: Stage) -> str:
    return f"{translate(pipeline.name)}: {translate(stage.name)} ({stage.probability}%)"


def stage_choices() -> list[tuple[Any, str]]:
    """Every stage of every pipeline, labelled with its pipeline and probability."""
    return [
        (stage.id, stage_label(pipeline, stage))
        for pipeline in pipelines.list_pipelines(current_tenant_session())
        for stage in pipeline.stages
    ]


def record_choices(model: type, label: str, *, blank: bool = True) -> list[tuple[Any, str]]:
    """``(id, label)`` of records to link to, in name order, after a "none" choice unless ``blank=False``."""
    query = select(model).order_by(model.sort_name, model.id).limit(CHOICE_LIMIT)
    choices = [(row.id, getattr(row, label)) for row in current_tenant_session().scalars(query)]
    return [("", gettext("— none —")), *choices] if blank else choices


def deal_status_label(deal: Deal) -> str:
    return deal_status_labels().get(deal.status, deal.status)


def _contact_names(deal: Deal) -> str:
    session = current_tenant_session()
    names = [session.get(Contact, contact_id).display_name for contact_id in deal.contact_ids]
    return ", ".join(names)


def _detail_context(deal: Deal) -> dict[str, Any]:
    session = current_tenant_session()
    history = deals.history(session, deal.id)
    stage_ids = {change.from_stage_id for change in history} | {change.to_stage_id for change in history}
    return {
        "history": history,
        "stage_names": {
            stage_id: translate(name)
            for stage_id, name in session.execute(select(Stage.id, Stage.name).where(Stage.id.in_(stage_ids)))
        },
        "stages": deal.pipeline.stages,
        "open_tasks": tasks.list(session, deal_id=deal.id, status="open").data,
        "people": workspace_people(),
        "quotes": deal_quotes(session, deal.id),
    }


def money(deal: Deal) -> str:
    return f"{deal.currency} {deal.amount:,.2f}"


DEAL_PAGES = RecordPages(
    service=deals,
    schema_in=DealIn,
    singular="deal",
    plural="deals",
    fields=(
        FormField("name", N_("Name"), required=True),
        FormField("amount", N_("Amount"), "number", step="0.01", show=money),
        FormField("currency", N_("Currency (ISO code, e.g. EUR)")),
        FormField("close_date", N_("Expected close date"), "date"),
        FormField(
            "stage_id",
            N_("Stage"),
            "select",
            choices=stage_choices,
            show=lambda deal: stage_label(deal.pipeline, deal.stage),
        ),
        FormField("lost_reason", N_("Lost reason (needed for a lost stage)")),
        FormField(
            "owner_user_id",
            N_("Owner"),
            "select",
            choices=member_choices,
            show=lambda deal: workspace_people().get(deal.owner_user_id),
        ),
        FormField(
            "account_id",
            N_("Account"),
            "record",
            record_type="accounts",
            show=lambda deal: deal.account.name if deal.account else None,
        ),
        FormField(
            "contact_ids",
            N_("Contacts"),
            "select",
            choices=lambda: record_choices(Contact, "display_name", blank=False),
            multiple=True,
            show=_contact_names,
        ),
        FormField("notes", N_("Notes"), "textarea"),
    ),
    columns=(
        ListColumn(N_("Name"), lambda deal: deal.name, "name", "name"),
        ListColumn(N_("Amount"), money, "amount", "amount"),
        ListColumn(N_("Stage"), lambda deal: translate(deal.stage.name), "stage"),
        ListColumn(N_("Close date"), lambda deal: deal.close_date, "close_date", "close_date"),
        ListColumn(N_("Status"), deal_status_label, "status", "status"),
        ListColumn(
            N_("Owner"), lambda deal: workspace_people().get(deal.owner_user_id), "owner", shown=False
        ),
        *TIMESTAMP_COLUMNS,
    ),
    blueprint="sfa",
    filters=DealFilters,
    list_template="sfa/deal_list.html",
    detail_template="sfa/deal_detail.html",
    detail_context=_detail_context,
    timeline=Timeline(
        entries=lambda deal: {"subject_type": DEAL_SUBJECT, "subject_id": deal.id},
        links=lambda deal: {
            "subject_type": DEAL_SUBJECT,
            "subject_id": deal.id,
            "account_id": deal.account_id,
        },
    ),
    words=RecordWords(
        N_("Deal"),
        N_("Deals"),
        N_("New deal"),
        N_("Edit deal"),
        N_("Delete deal"),
        N_("Delete this deal?"),
        N_("Search deals"),
        N_("No deals yet."),
        N_("No deals match “%(query)s”."),
        N_("Deal saved."),
        N_("Deal deleted."),
        N_("Another deal looks like the same one"),
    ),
)

register_record_pages(pages, DEAL_PAGES)


def _filter_choices() -> dict[str, list[tuple[Any, str]]]:
    all_pipelines = pipelines.list_pipelines(current_tenant_session())
    return {
        "pipeline_id": [(pipeline.id, pipeline.name) for pipeline in all_pipelines],
        "stage_id": stage_choices(),
        "owner_user_id": [choice for choice in member_choices() if choice[0] != ""],
        "status": list(deal_status_labels().items()),
    }


@pages.context_processor
def _deal_filter_choices() -> dict[str, Any]:
    return {
        "deal_filter_choices": _filter_choices,
        "deal_status_labels": deal_status_labels,
        "quote_status_labels": quote_status_labels,
    }


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back_to(deal_id: uuid.UUID) -> str:
    """Where a move form returns: the page it came from (same site only), else the deal."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("sfa.show_deals", record_id=deal_id)


@pages.route("/deals/<uuid:record_id>/move", methods=["POST"])
def move_deal(record_id: uuid.UUID):
    """Move a deal to a stage: the kanban's drag and drop (JSON) and every move form (redirect)."""
    session = current_tenant_session()
    deal = deals.get(session, record_id)  # an unknown deal is a 404 before any validation
    data = {name: request.form.get(name, "") for name in ("stage_id", "lost_reason")}
    try:
        move = load_form(MoveIn(), data, gettext("Please choose a stage."))
        deal = deals.move(session, deal.id, move["stage_id"], move.get("lost_reason"))
    except ValidationError as error:
        if _wants_json():
            # The board's script shows these as they come: in the reader's language, like the page.
            shown = {name: [translate(m) for m in messages] for name, messages in error.errors.items()}
            return jsonify(detail=translate(error.detail), errors=shown), 422
        # Without script the deal's own page says what is missing and offers its move form.
        return render_detail(DEAL_PAGES, deal, status=422, move_error=error)
    if _wants_json():
        return jsonify(id=str(deal.id), stage_id=str(deal.stage_id), status=deal.status)
    flash(gettext("%(deal)s is now in %(stage)s.", deal=deal.name, stage=translate(deal.stage.name)))
    return redirect(_back_to(record_id), 303)
