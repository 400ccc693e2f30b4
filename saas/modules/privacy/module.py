"""Registration of the always-on privacy module: consent ledger, data subject requests, erasure, and the
customer hub other modules add their sections to."""

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.privacy import hub_sections, subject
from saas.modules.privacy.consent import import_consents, seed_default_purposes
from saas.modules.privacy.merge import merge_privacy_records
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    RECIPIENT_EMAIL_DELIVERY,
    SUBJECT_CONTACTS,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordLink,
    SettingsPage,
)


def _pages():
    import saas.modules.privacy.views  # noqa: F401  (attaches the routes)
    from saas.modules.privacy.blueprints import pages

    return pages


def _hub():
    from saas.modules.privacy.hub import customer_hub

    return customer_hub


def _api():
    import saas.modules.privacy.api  # noqa: F401  (attaches the routes)
    from saas.modules.privacy.blueprints import api

    return api


MODULE = Module(
    key="privacy",
    title=N_("Privacy"),
    models="saas.modules.privacy.models",
    always_on=True,
    pages=_pages,
    api=_api,
    public=_hub,
    hub_sections=hub_sections.SECTIONS,
    settings=(
        SettingsPage(N_("Retention"), "privacy.retention_page", N_("How long untouched contacts are kept.")),
        SettingsPage(
            N_("Privacy center branding"), "privacy.branding_page", N_("Name, logo, colour and policy link.")
        ),
        SettingsPage(
            N_("Records of processing"),
            "privacy.processing_record_page",
            N_("What the workspace does with personal data and where it lives, as a page or a CSV."),
        ),
    ),
    nav=(NavEntry(N_("Privacy requests"), "privacy.request_queue", group="settings"),),
    record_links=(
        RecordLink("contacts", N_("Consents and receipts"), "privacy.contact_consents", "contact_id"),
    ),
    seed=seed_default_purposes,
    personal_data=subject.personal_data,
    erase_person=subject.erase_person,
    retention_keep=subject.retention_keep,
    merge_records=merge_privacy_records,
    refused_people=subject.refused_people,
    import_consents=import_consents,
    processing=(
        ProcessingActivity(
            N_("Consent records"),
            N_("Proving what each person consented to, when and to which notice."),
            (SUBJECT_CONTACTS,),
            (N_("Consent choices, notices shown, time and origin"),),
            legal_basis=N_("Legal obligation (proof of consent, GDPR Art. 7(1))"),
        ),
        ProcessingActivity(
            N_("Privacy requests"),
            N_("Answering people's requests to see, correct or erase their data."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, N_("The request and its handling")),
            legal_basis=N_("Legal obligation (GDPR Art. 12-22)"),
            recipients=(RECIPIENT_EMAIL_DELIVERY,),
        ),
    ),
)

register_periodic(PeriodicJob("saas.modules.privacy.retention.apply_all_retention", cron="43 2 * * *"))
