"""Registration of the meetings module: a user's CalDAV calendar and booking link (settings page),
meetings on contact pages and in the API, the public booking pages, the privacy hooks, and the
periodic calendar sync."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.meetings import privacy
from saas.modules.registry import (
    RECIPIENT_EMAIL_DELIVERY,
    RECIPIENT_OWN_CALENDARS,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordPanel,
    SettingsPage,
)


def _pages():
    from saas.modules.meetings import views  # noqa: F401  (attaches the routes)
    from saas.modules.meetings.blueprints import pages

    return pages


def _api():
    from saas.modules.meetings import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.meetings.blueprints import api

    return api


def _public():
    from saas.modules.meetings import public as routes  # noqa: F401  (attaches the routes)
    from saas.modules.meetings.blueprints import booking

    return booking


def _panel(session, record_type, record):
    from saas.modules.meetings.panel import meetings_panel

    return meetings_panel(session, record_type, record)


MODULE = Module(
    key="meetings",
    title=N_("Meetings"),
    models="saas.modules.meetings.models",
    pages=_pages,
    api=_api,
    public=_public,
    nav=(NavEntry(N_("Calendar"), "meetings.settings", group="inbox"),),
    settings=(
        SettingsPage(
            N_("Team booking links"),
            "meetings.team_links",
            N_("One booking link for several members: each booking goes to one who is free."),
        ),
    ),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    record_panels=(RecordPanel("meetings/_panel.html", _panel, record_types=("contacts",), order=40),),
    processing=(
        ProcessingActivity(
            N_("Meetings"),
            N_("Scheduling meetings with contacts and taking bookings through booking links."),
            (SUBJECT_CONTACTS,),
            (N_("Name and email"), N_("Meeting times and subjects")),
            recipients=(RECIPIENT_OWN_CALENDARS, RECIPIENT_EMAIL_DELIVERY),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.meetings.sync.sync_all_calendars", interval=300))
