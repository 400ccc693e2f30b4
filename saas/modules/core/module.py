"""Registration of the always-on core module."""

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.core import dashboard, objects, privacy, schemas, search, services
from saas.modules.core.labels import RECORD_LABELS
from saas.modules.core.merge import merge_core_records
from saas.modules.core.scoring import CONTACT_SCORE, SCORE_JOB
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordPanel,
    RecordType,
    SettingsPage,
)


def _objects_pages():
    from saas.modules.core.views import objects as object_pages

    return object_pages


def _imports():
    from saas.modules.core import imports

    return imports


def _pages():
    import saas.modules.core.views  # noqa: F401  (attaches the routes)
    from saas.modules.core.blueprints import pages

    return pages


def _api():
    import saas.modules.core.api  # noqa: F401  (attaches the routes)
    from saas.modules.core.blueprints import api

    return api


MODULE = Module(
    key="core",
    title=N_("Contacts and accounts"),
    models="saas.modules.core.models",
    always_on=True,
    pages=_pages,
    api=_api,
    settings=(
        SettingsPage(
            N_("Custom fields"),
            "core.custom_field_settings",
            N_("Your own fields on contacts, accounts, leads, deals and tickets."),
        ),
        SettingsPage(
            N_("Custom objects"),
            "core.object_settings",
            N_("Your own kinds of records (vehicles, properties...) with their fields and relations."),
        ),
        SettingsPage(
            N_("Currencies"),
            "core.currency_settings",
            N_("The base currency totals are shown in, and exchange rates by day."),
        ),
        SettingsPage(
            N_("Phone numbers"),
            "core.phone_settings",
            N_("The region numbers typed without a country code belong to."),
        ),
        SettingsPage(
            N_("Import from another CRM"),
            "core.new_vendor_import",
            N_("Bring in HubSpot, Salesforce, Twenty or EspoCRM exports, after a dry run."),
        ),
    ),
    actions=(
        NavEntry(N_("New contact"), "core.new_contacts"),
        NavEntry(N_("New account"), "core.new_accounts"),
        NavEntry(N_("Import contacts"), "core.new_import"),
    ),
    nav=(
        NavEntry(N_("Contacts"), "core.list_contacts", group="records"),
        NavEntry(N_("Accounts"), "core.list_accounts", group="records"),
        NavEntry(N_("Imports"), "core.list_imports", group="records"),
        NavEntry(N_("Reports"), "core.reports_page", group="reports"),
    ),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    merge_records=merge_core_records,
    search=search.search,
    dashboard=dashboard.dashboard,
    record_labels=RECORD_LABELS,
    segment_fields=(CONTACT_SCORE,),
    workspace_record_types=objects.record_types,
    workspace_nav=lambda session: _objects_pages().workspace_nav(session),
    record_panels=(
        RecordPanel(
            "core/_related_records.html", lambda *args: _objects_pages().related_records(*args), order=50
        ),
    ),
    record_types=(
        RecordType(
            "contacts",
            N_("Contact"),
            N_("Contacts"),
            "core.show_contacts",
            service=lambda: services.contacts,
            list_query=lambda: schemas.ContactListQuery(),
            import_target=lambda: _imports().CONTACTS,
        ),
        RecordType(
            "accounts",
            N_("Account"),
            N_("Accounts"),
            "core.show_accounts",
            service=lambda: services.accounts,
            list_query=lambda: schemas.ListQuery(),
            import_target=lambda: _imports().ACCOUNTS,
        ),
    ),
    processing=(
        ProcessingActivity(
            N_("Customer records"),
            N_("Keeping contacts and accounts and the history of your dealings with them."),
            (SUBJECT_CONTACTS,),
            (
                CATEGORY_CONTACT_DETAILS,
                N_("Notes, calls, meetings and other timeline entries"),
                N_("Your custom fields"),
            ),
        ),
    ),
)

# Imports whose worker died or whose queue entry was lost with Redis resume from their last batch.
register_periodic(PeriodicJob("saas.modules.core.imports.resume_all_stalled_imports", interval=60))
register_periodic(PeriodicJob(SCORE_JOB, cron="23 * * * *"))
