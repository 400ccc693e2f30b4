"""The CSV import of leads: what core's generic import (saas.modules.core.imports) needs to know of them.

Leads are people like contacts (matched by email), with a company, a status and a source; a row may not
import a lead as converted, since a lead becomes converted only by converting it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saas.db import TenantSession
from saas.modules.core.imports import (
    NOTES_FIELD,
    PERSON_FIELDS,
    TITLE_FIELD,
    ImportField,
    ImportTarget,
    email_key,
    existing_emails,
)
from saas.modules.core.vendor_imports.formats import is_true
from saas.modules.sfa import pipelines
from saas.modules.sfa.lead_schemas import LeadIn
from saas.modules.sfa.models import Lead, Pipeline


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


def _stage_kind(name: str, won: str | None, closed: str | None) -> str:
    """won, lost or open: the file's flags when it has them (Salesforce's IsWon, IsClosed), else the name
    (HubSpot's "Closed won", EspoCRM's "Closed Lost")."""
    if won is not None or closed is not None:
        if is_true(won or ""):
            return "won"
        return "lost" if is_true(closed or "") else "open"
    folded = "".join(ch for ch in name.lower() if ch.isalnum())
    if "won" in folded:
        return "won"
    return "lost" if "lost" in folded else "open"


def deal_names(session: TenantSession, data: dict[str, Any]) -> dict[str, Any]:
    """A deal from another CRM (the deals record type's ``import_names``): its ``pipeline`` and ``stage``
    names become ids; a pipeline or stage of that name is created when this workspace has none (a stage
    at the end, its kind from the file's won/closed flags or its name). A deal in a lost stage keeps
    "Lost before the import" as its reason when the file gives none."""
    data = dict(data)
    pipeline_name = (data.pop("pipeline", None) or "").strip()[:100]
    stage_name = (data.pop("stage", None) or "").strip()[:100]
    won, closed = data.pop("stage_won", None), data.pop("stage_closed", None)
    probability = data.pop("stage_probability", None)
    if not stage_name:
        return data
    kind = _stage_kind(stage_name, won, closed)
    pipeline = (
        session.scalar(select(Pipeline).where(func.lower(Pipeline.name) == pipeline_name.lower()))
        if pipeline_name
        else pipelines.default_pipeline(session)
    )
    if pipeline is None:
        # A new pipeline needs an open stage: the deal's own when it is open.
        first = {"name": stage_name if kind == "open" else "Open", "probability": 10, "kind": "open"}
        pipeline = pipelines.create_pipeline(session, {"name": pipeline_name, "stages": [first]})
    stage = next((s for s in pipeline.stages if s.name.lower() == stage_name.lower()), None)
    if stage is None:
        default = {"won": 100, "lost": 0}.get(kind, 50)
        try:
            chance = min(100, max(0, int(float(probability)))) if probability else default
        except ValueError:
            chance = default
        stage = pipelines.add_stage(
            session, pipeline.id, {"name": stage_name, "probability": chance, "kind": kind}
        )
        session.refresh(pipeline)
    data["pipeline_id"], data["stage_id"] = pipeline.id, stage.id
    if stage.kind == "lost" and not data.get("lost_reason"):
        data["lost_reason"] = "Lost before the import"
    return data
