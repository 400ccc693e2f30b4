"""The workflow runs section of record pages (a registry ``RecordPanel``): what ran for this record."""

from __future__ import annotations

from typing import Any

from saas.modules.registry import RecordType
from saas.modules.workflows.workflows import runs_of_record


def runs_panel(session, record_type: RecordType, record: Any) -> dict[str, Any] | None:
    runs = runs_of_record(session, record_type.table, record.id)
    return {"runs": runs} if runs else None
