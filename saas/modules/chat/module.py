"""Registration of the live chat module: the website widget, the agents' chat inbox, chats as tickets."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.chat import privacy
from saas.modules.registry import (
    SUBJECT_CONTACTS,
    SUBJECT_VISITORS,
    HubSection,
    Module,
    NavEntry,
    ProcessingActivity,
    SettingsPage,
)

# How a chat's state reads to the customer, in their language.
CUSTOMER_STATUS_NAMES = {"waiting": N_("waiting for us"), "active": N_("open"), "closed": N_("ended")}


def _hub_chats(session: Session, contact_id: uuid.UUID | None) -> dict:
    from saas.modules.chat.chats import chats_of_contact

    chats = chats_of_contact(session, contact_id) if contact_id else []
    return {"chats": chats, "status_names": CUSTOMER_STATUS_NAMES}


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
    nav=(NavEntry(N_("Chat"), "chat.inbox", group="service"),),
    hub_sections=(HubSection("chats", N_("My chats"), "chat/hub_chats.html", _hub_chats, order=15),),
    processing=(
        ProcessingActivity(
            N_("Live chat"),
            N_("Chatting with visitors of your website and filing chats as tickets."),
            (SUBJECT_VISITORS, SUBJECT_CONTACTS),
            (N_("Name and email a visitor gives"), N_("Chat messages")),
        ),
    ),
)
