"""Marketing's figures in the report builder: won-deal revenue credited to the first and the last touch
(:mod:`saas.modules.marketing.attribution`), grouped by campaign, source, kind of source, model or month."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.registry import ReportSource

VALUE_LABELS = {
    "model": {"first_touch": N_("First touch"), "last_touch": N_("Last touch")},
    "channel": {"campaign": N_("Campaign"), "form": N_("Form"), "website": N_("Website")},
    "label": {"direct": N_("Direct")},
}


def _rows(session: Session) -> Any:
    from saas.modules.marketing.attribution import credited_deals  # its models load with the registry

    return credited_deals()


ATTRIBUTION = ReportSource(
    key="marketing.attribution",
    label=N_("Attribution (first and last touch)"),
    rows=_rows,
    # Each won deal is one row per touch model: group or filter by the model to count a deal once.
    groupable=(
        ("model", N_("Touch model")),
        ("campaign", N_("Campaign")),
        ("channel", N_("Kind of source")),
        ("label", N_("Source")),
        ("won_month", N_("Month won")),
        ("currency", N_("Currency")),
    ),
    summable=(("revenue", N_("Won revenue")),),
    money_fields=(("revenue", "currency"),),
    value_labels=lambda field: VALUE_LABELS.get(field, {}),
)
