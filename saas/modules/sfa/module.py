"""Registration of the sales force automation module."""

from __future__ import annotations

from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordLink,
    RecordType,
    SettingsPage,
)
from saas.modules.sfa import dashboard, privacy, search
from saas.modules.sfa.labels import RECORD_LABELS
from saas.modules.sfa.merge import merge_sfa_records
from saas.modules.sfa.report_sources import CUSTOMERS
from saas.modules.sfa.segment_rules import LEAD_SCORE

# A new tenant's pipeline: (name, probability %, kind). The names are stored in English and marked for
# extraction: pages show them through ``translate``, so a stage the workspace renamed keeps its own name.
DEFAULT_STAGES = (
    (N_("Prospecting"), 10, "open"),
    (N_("Qualification"), 25, "open"),
    (N_("Proposal"), 50, "open"),
    (N_("Negotiation"), 75, "open"),
    (N_("Won"), 100, "won"),
    (N_("Lost"), 0, "lost"),
)
DEFAULT_PIPELINE = N_("Sales")


def _lead_value_labels(field: str) -> dict[str, str]:
    from saas.modules.sfa.statuses import lead_status_labels

    return lead_status_labels() if field == "status" else {}


def seed_default_pipeline(session: Session) -> None:
    from saas.modules.sfa.models import Pipeline, Stage

    pipeline = Pipeline(name=DEFAULT_PIPELINE, is_default=True, position=0)
    pipeline.stages = [
        Stage(name=name, probability=probability, kind=kind, position=position)
        for position, (name, probability, kind) in enumerate(DEFAULT_STAGES)
    ]
    session.add(pipeline)


def seed_sales(session: Session) -> None:
    """A new workspace's sales pipeline and default price book."""
    from saas.modules.sfa.products import seed_price_book

    seed_default_pipeline(session)
    seed_price_book(session)


def _lead_parts():
    from saas.modules.sfa.lead_schemas import LeadListQuery
    from saas.modules.sfa.leads import leads

    return leads, LeadListQuery


def _lead_import():
    from saas.modules.sfa.imports import LEADS

    return LEADS


def _deal_names():
    from saas.modules.sfa.imports import deal_names

    return deal_names


def _deal_parts():
    from saas.modules.sfa.deal_schemas import DealListQuery
    from saas.modules.sfa.deals import deals

    return deals, DealListQuery


def _pages():
    import saas.modules.sfa.views  # noqa: F401  (attaches the routes)
    from saas.modules.sfa.blueprints import pages

    return pages


def _public():
    import saas.modules.sfa.public  # noqa: F401  (attaches the routes)
    from saas.modules.sfa.blueprints import public

    return public


def _api():
    import saas.modules.sfa.api  # noqa: F401  (attaches the routes)
    from saas.modules.sfa.blueprints import api

    return api


MODULE = Module(
    key="sfa",
    title=N_("Sales"),
    models="saas.modules.sfa.models",
    seed=seed_sales,
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    merge_records=merge_sfa_records,
    search=search.search,
    dashboard=dashboard.dashboard,
    record_labels=RECORD_LABELS,
    segment_fields=(LEAD_SCORE,),
    report_sources=(CUSTOMERS,),
    # The timeline's composer offers these beside its note, call, meeting and email.
    record_links=(
        RecordLink("contacts", N_("New task"), "sfa.new_tasks", "contact_id", composer=True),
        RecordLink("accounts", N_("New task"), "sfa.new_tasks", "account_id", composer=True),
    ),
    record_types=(
        RecordType(
            "leads",
            N_("Lead"),
            N_("Leads"),
            "sfa.show_leads",
            service=lambda: _lead_parts()[0],
            list_query=lambda: _lead_parts()[1](),
            import_target=_lead_import,
            value_labels=_lead_value_labels,
        ),
        RecordType(
            "deals",
            N_("Deal"),
            N_("Deals"),
            "sfa.show_deals",
            service=lambda: _deal_parts()[0],
            list_query=lambda: _deal_parts()[1](),
            money_fields=(("amount", "currency"),),
            import_names=lambda session, data: _deal_names()(session, data),
            timeline_subject="deal",
        ),
    ),
    pages=_pages,
    api=_api,
    public=_public,
    # Each entry's endpoint must exist; add yours when your pages land.
    settings=(
        SettingsPage(
            N_("Pipelines and stages"),
            "sfa.pipeline_settings",
            N_("Sales pipelines, their stages and win probabilities."),
        ),
        SettingsPage(N_("Quotes"), "sfa.quote_settings", N_("Whether an accepted quote wins its deal.")),
    ),
    actions=(
        NavEntry(N_("New deal"), "sfa.new_deals"),
        NavEntry(N_("New lead"), "sfa.new_leads"),
        NavEntry(N_("New task"), "sfa.new_tasks"),
    ),
    nav=(
        NavEntry(N_("Leads"), "sfa.list_leads", group="sales"),
        NavEntry(N_("Deals"), "sfa.list_deals", group="sales"),
        NavEntry(N_("Pipeline"), "sfa.kanban", group="sales"),
        NavEntry(N_("Forecast"), "sfa.forecast_page", group="reports"),
        NavEntry(N_("Customer analytics"), "sfa.customer_analytics_page", group="reports"),
        NavEntry(N_("Deals by month"), "sfa.cohorts_page", group="reports"),
        NavEntry(N_("Tasks"), "sfa.list_tasks", group="sales"),
        NavEntry(N_("Products"), "sfa.list_products", group="sales"),
    ),
    processing=(
        ProcessingActivity(
            N_("Sales"),
            N_("Following up leads and deals, sending quotes and planning sales tasks."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, N_("Leads, deals, quotes and tasks")),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.sfa.scoring.score_all_workspaces", cron="41 2 * * *"))
