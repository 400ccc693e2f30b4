"""The email section of contact, account and deal pages (a registry ``RecordPanel``): their threads."""

from __future__ import annotations

from typing import Any

from saas.modules.core.activities import acting_user_id
from saas.modules.mailbox.mailboxes import own_mailbox
from saas.modules.mailbox.threads import threads_of_record
from saas.modules.registry import RecordType


def mail_panel(session, record_type: RecordType, record: Any) -> dict[str, Any]:
    mailbox = own_mailbox(session, acting_user_id(session))
    return {
        "threads": threads_of_record(session, record_type.table, record.id),
        "can_write": record_type.table == "contacts"
        and mailbox is not None
        and mailbox.status == "connected",
        "record": record,
    }
