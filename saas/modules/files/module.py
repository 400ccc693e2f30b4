"""Registration of the files module: files on every record type's page, in the API, the privacy hooks,
and the hourly sample of stored bytes for the ``storage_gb_months`` meter.

Always on: files belong to other modules' records, and a switch that hid them would still keep (and
bill) their bytes.
"""

from __future__ import annotations

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.files import privacy
from saas.modules.files.merge import merge_files
from saas.modules.registry import (
    RECIPIENT_FILE_STORAGE,
    SUBJECT_CONTACTS,
    Module,
    ProcessingActivity,
    RecordPanel,
)


def _pages():
    from saas.modules.files import views  # noqa: F401  (attaches the routes)
    from saas.modules.files.blueprints import pages

    return pages


def _api():
    from saas.modules.files import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.files.blueprints import api

    return api


def _panel(session, record_type, record):
    from saas.modules.files.panel import files_panel

    return files_panel(session, record_type, record)


MODULE = Module(
    key="files",
    title=N_("Files"),
    models="saas.modules.files.models",
    always_on=True,
    pages=_pages,
    api=_api,
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    merge_records=merge_files,
    record_panels=(RecordPanel("files/_panel.html", _panel, order=50),),
    processing=(
        ProcessingActivity(
            N_("Files"),
            N_("Keeping files attached to records and ticket replies."),
            (SUBJECT_CONTACTS,),
            (N_("Whatever the files hold"),),
            recipients=(RECIPIENT_FILE_STORAGE,),
        ),
    ),
)

# Hourly, like the contacts gauge: the ledger keeps each day's highest sample.
register_periodic(PeriodicJob("saas.modules.files.usage.sample_storage_used", interval=3600))
