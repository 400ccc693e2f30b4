"""Registration of the marketing module: segments, campaigns, tracking, unsubscribe and forms."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.marketing import privacy
from saas.modules.marketing.report_sources import ATTRIBUTION
from saas.modules.marketing.scoring import EMAIL_ENGAGEMENT
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    CATEGORY_EMAIL_ENGAGEMENT,
    RECIPIENT_EMAIL_DELIVERY,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordList,
    SettingsPage,
)


def _pages():
    import saas.modules.marketing.views  # noqa: F401  (attaches the routes)
    from saas.modules.marketing.blueprints import pages

    return pages


def _api():
    import saas.modules.marketing.api  # noqa: F401  (attaches the routes)
    from saas.modules.marketing.blueprints import api

    return api


def _static_lists(session):
    from saas.modules.marketing.segments import static_list_choices

    return static_list_choices(session)


def _add_to_static_list(session, list_id, contact_ids):
    from saas.modules.marketing.segments import add_to_static_list

    return add_to_static_list(session, list_id, contact_ids)


def _public():
    import saas.modules.marketing.public  # noqa: F401  (attaches the routes)
    from saas.modules.marketing.blueprints import public

    return public


MODULE = Module(
    key="marketing",
    title=N_("Marketing"),
    models="saas.modules.marketing.models",
    pages=_pages,
    api=_api,
    public=_public,
    settings=(
        SettingsPage(
            N_("Sender"),
            "marketing.settings_page",
            N_("From name and address, reply-to, postal address, time zone."),
        ),
    ),
    actions=(NavEntry(N_("New campaign"), "marketing.new_campaign"),),
    nav=(
        NavEntry(N_("Campaigns"), "marketing.list_campaigns", group="marketing"),
        NavEntry(N_("Segments"), "marketing.list_segments", group="marketing"),
        NavEntry(N_("Forms"), "marketing.list_forms", group="marketing"),
        NavEntry(N_("Attribution"), "marketing.attribution_page", group="reports"),
    ),
    record_lists=(RecordList(("contacts",), _static_lists, _add_to_static_list),),
    report_sources=(ATTRIBUTION,),
    score_signals=(EMAIL_ENGAGEMENT,),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    processing=(
        ProcessingActivity(
            N_("Email marketing"),
            N_("Sending campaigns to segments, measuring their results and collecting form answers."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, CATEGORY_EMAIL_ENGAGEMENT, N_("Form answers")),
            consent_purposes=("email_marketing",),
            recipients=(RECIPIENT_EMAIL_DELIVERY,),
        ),
    ),
)

# Scheduled campaigns whose time came, and sends a dead worker left unfinished.
register_periodic(PeriodicJob("saas.modules.marketing.sending.dispatch_due_campaigns", interval=60))
