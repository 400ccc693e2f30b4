"""The sequences section of a contact's page (a registry ``RecordPanel``): their enrolments with each one's
history and controls, and a form to enrol them in a sequence."""

from __future__ import annotations

from typing import Any

from saas.modules.registry import RecordType
from saas.modules.sequences.sequences import enrolments_of_contact, list_sequences


def sequences_panel(session, record_type: RecordType, record: Any) -> dict[str, Any]:
    return {
        "enrolments": enrolments_of_contact(session, record.id),
        "sequences": [(str(s.id), s.name) for s in list_sequences(session)],
        "contact_id": record.id,
    }
