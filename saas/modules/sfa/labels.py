"""The names reports and filters show for pipelines, stages, deals and leads, where a field holds their
id (registered as the sales module's ``record_labels``)."""

from __future__ import annotations

from saas.modules.core.labels import labels_by_id
from saas.modules.registry import RecordLabels
from saas.modules.sfa.models import Deal, Lead, Pipeline, Stage


def _lead_name(lead: Lead) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return person or lead.company or lead.email or str(lead.id)


RECORD_LABELS: tuple[tuple[str, RecordLabels], ...] = (
    ("pipelines", labels_by_id(Pipeline, lambda pipeline: pipeline.name)),
    ("stages", labels_by_id(Stage, lambda stage: stage.name)),
    ("deals", labels_by_id(Deal, lambda deal: deal.name)),
    ("leads", labels_by_id(Lead, _lead_name)),
)
