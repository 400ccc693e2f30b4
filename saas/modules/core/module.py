"""Registration of the always-on core module."""

from saas.modules.core import dashboard, privacy, search
from saas.modules.registry import Module, NavEntry


def _pages():
    from saas.modules.core.views import pages

    return pages


def _api():
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
    search=search.search,
    dashboard=dashboard.dashboard,
)
