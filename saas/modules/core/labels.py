"""The names reports and filters show for contacts, accounts and the workspace's members, where a field
holds their id (registered as the core module's ``record_labels``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import select

from saas.auth.models import Membership, User
from saas.db import TenantSession, db
from saas.modules.core.models import Account, Contact
from saas.modules.registry import RecordLabels


def labels_by_id(model: Any, name_of: Callable[[Any], str]) -> RecordLabels:
    """A resolver that names ``model``'s records by ``name_of``, all the asked ids in one query."""

    def resolve(session: TenantSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        records = session.scalars(select(model).where(model.id.in_(ids)))
        return {record.id: name_of(record) for record in records}

    return resolve


def member_emails(session: TenantSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The email addresses of those users who are (or were) members of the session's workspace: an id
    written by anyone else names no one here."""
    rows = db.session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == session.tenant.id, User.id.in_(ids))
    )
    return dict(rows.tuples().all())


RECORD_LABELS: tuple[tuple[str, RecordLabels], ...] = (
    ("contacts", labels_by_id(Contact, lambda contact: contact.display_name)),
    ("accounts", labels_by_id(Account, lambda account: account.name)),
    ("users", member_emails),
)
