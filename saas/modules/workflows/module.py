"""Registration of the workflows module: the workflow pages and API, the open pixel of their emails, the
event listener that starts runs, the run history panel on record pages, privacy hooks, and the periodic
jobs (due runs, the outbox, segment and date triggers)."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    CATEGORY_EMAIL_ENGAGEMENT,
    RECIPIENT_EMAIL_DELIVERY,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordPanel,
)
from saas.modules.workflows import privacy


def _pages():
    from saas.modules.workflows import views  # noqa: F401  (attaches the routes)
    from saas.modules.workflows.blueprints import pages

    return pages


def _api():
    from saas.modules.workflows import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.workflows.blueprints import api

    return api


def _public():
    from saas.modules.workflows import public as routes  # noqa: F401  (attaches the routes)
    from saas.modules.workflows.blueprints import public

    return public


def _panel(session, record_type, record):
    from saas.modules.workflows.panel import runs_panel

    return runs_panel(session, record_type, record)


def _on_event(session, event, payload, changes):
    from saas.modules.workflows.triggers import on_event

    on_event(session, event, payload, changes)


MODULE = Module(
    key="workflows",
    title=N_("Workflows"),
    models="saas.modules.workflows.models",
    pages=_pages,
    api=_api,
    public=_public,
    nav=(NavEntry(N_("Workflows"), "workflows.index", group="automation"),),
    record_panels=(RecordPanel("workflows/_panel.html", _panel, order=90),),
    event_listeners=(_on_event,),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    processing=(
        ProcessingActivity(
            N_("Automated workflows"),
            N_("Running the steps you automate on records, emails included."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, CATEGORY_EMAIL_ENGAGEMENT),
            recipients=(RECIPIENT_EMAIL_DELIVERY,),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.workflows.runs.advance_all_due", interval=60))
register_periodic(PeriodicJob("saas.modules.workflows.emails.send_all_queued", interval=300))
register_periodic(PeriodicJob("saas.modules.workflows.triggers.check_all_periodic_triggers", interval=3600))
