"""Registration of the always-on integrations module: outgoing webhooks (code in :mod:`saas.webhooks`).

Registered so that privacy (the delivery log copies people's records) and exports see its tables; its pages
and API are installed with the API (:func:`saas.api.install_api_integration`).
"""

from saas.i18n import N_
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    RECIPIENT_CONNECTED_SYSTEMS,
    SUBJECT_CONTACTS,
    Module,
    ProcessingActivity,
    SettingsPage,
)
from saas.webhooks import privacy

MODULE = Module(
    key="integrations",
    title=N_("API and webhooks"),
    models="saas.webhooks.models",
    always_on=True,
    settings=(
        SettingsPage(
            N_("API access and webhooks"),
            "integrations.overview",
            N_("Personal tokens, OAuth clients and webhook subscriptions."),
        ),
    ),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    processing=(
        ProcessingActivity(
            N_("API and webhooks"),
            N_("Passing records to the systems you connect."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS,),
            recipients=(RECIPIENT_CONNECTED_SYSTEMS,),
        ),
    ),
)
