"""The website visits section of contact pages (a registry ``RecordPanel``): the contact's latest page
views, grouped by session, newest first."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session

from saas.modules.registry import RecordType
from saas.modules.website.visits import views_of_contact, visit_summary


def visits_panel(session: Session, record_type: RecordType, record: Any) -> dict[str, Any]:
    views = views_of_contact(session, record.id)
    sessions = [list(group) for _, group in groupby(views, key=lambda view: view.session_id)]
    return {"summary": visit_summary(session, record.id), "sessions": sessions}
