"""Registration of the live chat module: the website widget, the agents' chat inbox, chats as tickets."""

from __future__ import annotations

from saas.i18n import N_
from saas.modules.chat import privacy
from saas.modules.registry import Module, NavEntry, SettingsPage


def _pages():
    from saas.modules.chat import views  # noqa: F401  (attaches the routes)
    from saas.modules.chat.blueprints import pages

    return pages


def _public():
    from saas.modules.chat import widget as routes  # noqa: F401  (attaches the routes)
    from saas.modules.chat.blueprints import widget

    return widget


MODULE = Module(
    key="chat",
    title=N_("Live chat"),
    models="saas.modules.chat.models",
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    pages=_pages,
    public=_public,
    settings=(
        SettingsPage(
            N_("Live chat"),
            "chat.settings",
            N_("The website widget's snippet; chat hours follow the service module's business hours."),
        ),
    ),
    nav=(NavEntry(N_("Chat"), "chat.inbox"),),
)
