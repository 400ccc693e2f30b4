"""``@name`` in what members write: a mention names an active member by their email (``@ann@example.com``)
or, when no other member shares it, by the part before the ``@`` (``@ann``). Anything else is plain text."""

from __future__ import annotations

import re
import uuid
from collections import Counter

from saas.modules.notifications.services import active_members

# After a start or a space/bracket, so that an email address in the text is no mention of its domain.
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)


def mentioned_members(tenant_id: str, text: str | None) -> set[uuid.UUID]:
    """The active members of the workspace ``text`` mentions."""
    names = {match.rstrip(".").lower() for match in MENTION.findall(text or "")}
    if not names:
        return set()
    members = active_members(tenant_id)
    by_email = {email.lower(): user_id for user_id, email in members.items()}
    local_parts = Counter(email.split("@", 1)[0].lower() for email in members.values())
    by_local = {
        email.split("@", 1)[0].lower(): user_id
        for user_id, email in members.items()
        if local_parts[email.split("@", 1)[0].lower()] == 1  # ambiguous: only the whole email names them
    }
    return {by_email.get(name) or by_local.get(name) for name in names} - {None}
