"""Registration of the notifications module: the notification centre and bell, its API, the listener that
turns other modules' events into notifications, and the daily digest mail.

Always on: a mention or an assignment is part of working together in any workspace, and a switch would
only hide rows that keep being written (the bell is the only place they show).
"""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.notifications import privacy
from saas.modules.notifications.listeners import hear
from saas.modules.registry import RECIPIENT_EMAIL_DELIVERY, SUBJECT_MEMBERS, Module, ProcessingActivity


def _pages():
    from saas.modules.notifications import views  # noqa: F401  (attaches the routes)
    from saas.modules.notifications.blueprints import pages

    return pages


def _api():
    from saas.modules.notifications import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.notifications.blueprints import api

    return api


MODULE = Module(
    key="notifications",
    title=N_("Notifications"),
    models="saas.modules.notifications.models",
    always_on=True,
    pages=_pages,
    api=_api,
    event_listeners=(hear,),
    erase_person=privacy.erase_person,
    merge_records=privacy.merge_notifications,
    processing=(
        ProcessingActivity(
            N_("Notifications"),
            N_("Telling members about mentions and assignments, in the app and by a daily email."),
            (SUBJECT_MEMBERS,),
            (N_("Name and email"), N_("What a notification is about")),
            recipients=(RECIPIENT_EMAIL_DELIVERY,),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.notifications.digest.mail_all_digests", cron="0 7 * * *"))
