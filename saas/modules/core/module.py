"""Registration of the always-on core module."""

from saas.modules.core import dashboard, privacy, search
from saas.modules.core.merge import merge_core_records
from saas.modules.registry import Module, NavEntry


def _pages():
    import saas.modules.core.views_custom_fields  # attaches the custom field pages
    import saas.modules.core.views_merge  # noqa: F401  (attaches the merge pages)
    from saas.modules.core.views import pages

    return pages


def _api():
    import saas.modules.core.api_custom_fields  # attaches the custom field resources
    import saas.modules.core.api_merge  # noqa: F401  (attaches the merge resources)
    from saas.modules.core.api import api

    return api


MODULE = Module(
    key="core",
    title="Contacts and accounts",
    models="saas.modules.core.models",
    always_on=True,
    pages=_pages,
    api=_api,
    nav=(NavEntry("Contacts", "core.list_contacts"), NavEntry("Accounts", "core.list_accounts")),
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    merge_records=merge_core_records,
    search=search.search,
    dashboard=dashboard.dashboard,
)
