"""Registration of the mailbox module: a member's own mailbox synced by a periodic job, its threads on
contacts', accounts' and deals' pages, writing from the CRM, tracking routes, and the privacy hooks."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.mailbox import privacy
from saas.modules.registry import (
    RECIPIENT_OWN_MAIL,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordLink,
    RecordPanel,
)


def _pages():
    from saas.modules.mailbox import views  # noqa: F401  (attaches the routes)
    from saas.modules.mailbox.blueprints import pages

    return pages


def _api():
    from saas.modules.mailbox import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.mailbox.blueprints import api

    return api


def _public():
    from saas.modules.mailbox.blueprints import public
    from saas.modules.mailbox.views import public as routes  # noqa: F401  (attaches the routes)

    return public


def _panel(session, record_type, record):
    from saas.modules.mailbox.views.panel import mail_panel

    return mail_panel(session, record_type, record)


MODULE = Module(
    key="mailbox",
    title=N_("Mailbox"),
    models="saas.modules.mailbox.models",
    pages=_pages,
    api=_api,
    public=_public,
    nav=(NavEntry(N_("Mailbox"), "mailbox.settings", group="inbox"),),
    record_links=(RecordLink("contacts", N_("Write email"), "mailbox.compose", "contact_id"),),
    record_panels=(RecordPanel("mailbox/_panel.html", _panel, ("contacts", "accounts", "deals"), order=40),),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    processing=(
        ProcessingActivity(
            N_("Members' email"),
            N_("Showing mail exchanged with contacts on their timelines and writing to them."),
            (SUBJECT_CONTACTS,),
            (N_("Email messages and addresses"),),
            recipients=(RECIPIENT_OWN_MAIL,),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.mailbox.sync.sync_all_mailboxes", interval=300))
