"""The CSV import of leads: what core's generic import (saas.modules.core.imports) needs to know of them.

Leads are people like contacts (matched by email), with a company, a status and a source; a row may not
import a lead as converted, since a lead becomes converted only by converting it.
"""

from __future__ import annotations

from typing import Any

from saas.modules.core.imports import (
    NOTES_FIELD,
    PERSON_FIELDS,
    TITLE_FIELD,
    ImportField,
    ImportTarget,
    email_key,
    existing_emails,
)
from saas.modules.sfa.lead_schemas import LeadIn
from saas.modules.sfa.models import Lead


def _lead_status_rule(record: dict[str, Any]) -> dict[str, list[str]]:
    if record.get("status") == "converted":
        return {"status": ["A lead becomes converted only by converting it."]}
    return {}


LEADS = ImportTarget(
    entity="leads",
    table=Lead.__table__,
    schema=LeadIn,
    fields=(
        *PERSON_FIELDS,
        ImportField("company", "Company", ("company name", "organisation", "organization", "account")),
        TITLE_FIELD,
        ImportField("status", "Status", ("lead status",)),
        ImportField("source", "Source", ("lead source", "origin")),
        NOTES_FIELD,
    ),
    required=("email",),
    dedupe_key=email_key,
    existing_keys=existing_emails(Lead.email),
    row_rule=_lead_status_rule,
)
"""Leads in a CSV import (the leads record type's ``import_target``); imported rows are owned by the
member who uploaded the file (leads have an owner)."""
