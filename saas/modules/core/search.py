"""The core module's part of the global search: contacts and accounts by name, email or domain.

Through the lists' own search (``RecordService.list``), so the global search and a list's ``q`` find the
same records by the same rule (every word starts a word of the record) through the same GIN index.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from saas.modules.core import services
from saas.modules.registry import SearchHit


def search(session: Session, query: str, limit: int) -> list[SearchHit]:
    """Contacts, then accounts, matching ``query``; each list in its own (name) order."""
    contacts = services.contacts.list(session, q=query, limit=limit).data
    hits = [
        SearchHit(
            "Contact",
            contact.display_name or "(no name)",
            "core.show_contacts",
            {"record_id": str(contact.id)},
            contact.email or "",
        )
        for contact in contacts
    ]
    accounts = services.accounts.list(session, q=query, limit=limit).data
    hits += [
        SearchHit(
            "Account",
            account.name,
            "core.show_accounts",
            {"record_id": str(account.id)},
            account.domain or "",
        )
        for account in accounts
    ]
    return hits
