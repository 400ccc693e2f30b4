"""What a notification says, in the reader's language: one sentence per kind, naming who and what."""

from __future__ import annotations

from flask_babel import gettext

from saas.i18n import translate
from saas.modules.notifications.models import Notification


def sentence(row: Notification) -> str:
    """``row`` as one sentence (``ann@example.com mentioned you on Zoë Lee``)."""
    details = row.details or {}
    actor = details.get("actor") or gettext("Someone")
    record = row.record_label or gettext("a record")
    if row.kind == "mentioned":
        return gettext("%(actor)s mentioned you on %(record)s", actor=actor, record=record)
    if row.kind == "assigned":
        return gettext("%(actor)s assigned %(record)s to you", actor=actor, record=record)
    if row.kind == "deal_moved":
        stage = translate(details.get("stage") or "")
        return gettext("Your deal %(record)s moved to %(stage)s", record=record, stage=stage)
    if row.kind == "sla_at_risk":
        return gettext("The SLA of ticket %(record)s is about to breach", record=record)
    if row.kind == "import_finished":
        if details.get("status") == "failed":
            return gettext("Your import %(record)s stopped", record=record)
        return gettext(
            "Your import %(record)s finished: %(count)s imported",
            record=record,
            count=details.get("imported_rows", 0),
        )
    return record
