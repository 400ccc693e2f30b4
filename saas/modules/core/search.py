"""The core module's part of the global search: contacts and accounts by name, email or domain, and the
records of the workspace's custom objects by name.

Through the lists' own search (``RecordService.list``), so the global search and a list's ``q`` find the
same records by the same rule (every word starts a word of the record) through the same GIN index.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.core import objects, services
from saas.modules.core.models import Contact
from saas.modules.registry import SearchHit


def contact_hit(contact: Contact) -> SearchHit:
    """A contact as the search and pickers show it: the name, and the email telling equal names apart."""
    return SearchHit(
        "Contact",
        contact.display_name or "(no name)",
        "core.show_contacts",
        {"record_id": str(contact.id)},
        contact.email or "",
        N_("Contacts"),
    )


def search_contacts(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Contacts matching ``query``, in name order; also what pages that pick a person offer (privacy)."""
    return [contact_hit(contact) for contact in services.contacts.list(session, q=query, limit=limit).data]


def search(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Contacts, then accounts, matching ``query``; each list in its own (name) order."""
    hits = search_contacts(session, query, limit)
    accounts = services.accounts.list(session, q=query, limit=limit).data
    hits += [
        SearchHit(
            "Account",
            account.name,
            "core.show_accounts",
            {"record_id": str(account.id)},
            account.domain or "",
            N_("Accounts"),
        )
        for account in accounts
    ]
    return hits + search_objects(session, query, limit)


def search_objects(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Each live custom object's records matching ``query`` by name (one indexed search per object)."""
    hits = []
    for definition in objects.live_objects(session):
        found = objects.ObjectRecordService(definition).list(session, q=query, limit=limit).data
        hits += [
            SearchHit(
                definition.singular,
                record.name,
                "core.show_object_records",
                {"object_key": definition.key, "record_id": str(record.id)},
                "",
                definition.plural,
            )
            for record in found
        ]
    return hits
