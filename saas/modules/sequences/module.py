"""Registration of the sequences module: the sequence pages and API, the enrolments panel on contact pages,
bulk enrolment from the contacts list, the listener that stops enrolments (a reply, a booking, a withdrawn
consent), privacy hooks, and the periodic jobs (due enrolments, the outbox)."""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    CATEGORY_EMAIL_ENGAGEMENT,
    RECIPIENT_EMAIL_DELIVERY,
    RECIPIENT_OWN_MAIL,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordList,
    RecordPanel,
)
from saas.modules.sequences import privacy


def _pages():
    from saas.modules.sequences import views  # noqa: F401  (attaches the routes)
    from saas.modules.sequences.blueprints import pages

    return pages


def _api():
    from saas.modules.sequences import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.sequences.blueprints import api

    return api


def _panel(session, record_type, record):
    from saas.modules.sequences.panel import sequences_panel

    return sequences_panel(session, record_type, record)


def _on_event(session, event, payload, changes):
    from saas.modules.sequences.stops import on_event

    on_event(session, event, payload, changes)


def _sequence_choices(session):
    from flask_babel import gettext

    from saas.modules.sequences.sequences import list_sequences

    # Offered among the lists of the bulk "add to" action: enrolling is adding contacts to a sequence.
    return [(s.id, gettext("Sequence: %(name)s", name=s.name)) for s in list_sequences(session)]


def _enrol_selected(session, sequence_id, contact_ids) -> int:
    from saas.modules.core.activities import acting_user_id
    from saas.modules.sequences.sequences import enrol_contacts

    return len(enrol_contacts(session, sequence_id, contact_ids, acting_user_id(session)))


MODULE = Module(
    key="sequences",
    title=N_("Sequences"),
    models="saas.modules.sequences.models",
    pages=_pages,
    api=_api,
    nav=(NavEntry(N_("Sequences"), "sequences.index", group="automation"),),
    actions=(NavEntry(N_("New sequence"), "sequences.new"),),
    record_panels=(RecordPanel("sequences/_panel.html", _panel, record_types=("contacts",), order=85),),
    record_lists=(RecordList(("contacts",), _sequence_choices, _enrol_selected),),
    event_listeners=(_on_event,),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    processing=(
        ProcessingActivity(
            N_("Sales sequences"),
            N_("Sending a salesperson's series of emails and tasks to contacts until they answer."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, CATEGORY_EMAIL_ENGAGEMENT),
            recipients=(RECIPIENT_OWN_MAIL, RECIPIENT_EMAIL_DELIVERY),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.sequences.runs.advance_all_due", interval=60))
register_periodic(PeriodicJob("saas.modules.sequences.emails.send_all_queued", interval=300))
