"""The meetings section of contact pages (a registry ``RecordPanel``): their meetings, and a form to
schedule one (written to the user's calendar, with an invitation if asked)."""

from __future__ import annotations

from typing import Any

from saas.modules.meetings.meetings import meetings_of_contact
from saas.modules.registry import RecordType


def meetings_panel(session, record_type: RecordType, record: Any) -> dict[str, Any]:
    return {"meetings": meetings_of_contact(session, record.id), "contact": record}
