"""Saved reports: a report kept by name for the whole workspace; pinned ones are cards on the dashboard.

A report is saved only once it runs, so a saved report can later fail only if something it names went
away (a purged custom field, a module switched off); its card then says so instead of a chart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from saas.db import TenantSession
from saas.errors import NotFound, PermissionDenied, SaasError, ValidationError
from saas.i18n import N_
from saas.modules.core import reports
from saas.modules.core.models import CustomField, SavedReport
from saas.modules.registry import DashboardCard, NavEntry

MAX_PINNED = 6
"""Cards a workspace's dashboard shows for pinned reports (the oldest pinned first)."""
PARAMS = ("entity", "group_by", "then_by", "measure", "field", "filters")


def clean_params(session: TenantSession, params: dict[str, Any]) -> dict[str, Any]:
    """The report's arguments as kept, after running it once (a report that does not run is refused)."""
    kept = _kept(params)
    reports.run_report(session, **kept)
    return kept


def check_stored(params: Any, definitions_of: Callable[[str], list[CustomField]]) -> None:
    """Refuse stored parameters (an archive's) that :func:`clean_params` would not have kept as they are,
    or that name anything but their record type's fields (``definitions_of(entity)``: its custom ones)."""
    if not isinstance(params, dict):
        raise ValidationError("The report's parameters are not valid.", {"params": ["Not an object."]})
    kept = _kept(params)
    if kept != params:
        message = "The report's parameters are not as a saved report keeps them."
        raise ValidationError(message, {"params": [message]})
    reports.check_report(definitions=definitions_of(kept["entity"]), **kept)


def _kept(params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(PARAMS))
    filters = params.get("filters") or {}
    if (
        unknown
        or not all(isinstance(params.get(name) or "", str) for name in PARAMS[:-1])
        or not isinstance(filters, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in filters.items())
    ):
        message = N_(
            "A report has %(params)s: text, and filters as an object of text.", params=", ".join(PARAMS)
        )
        raise ValidationError("The report's parameters are not valid.", {"params": [message]})
    missing = [name for name in ("entity", "group_by") if not params.get(name)]
    if missing:
        raise ValidationError(
            "A report needs a record type and a grouping.", {name: ["Required."] for name in missing}
        )
    kept = {name: params.get(name) for name in PARAMS if params.get(name) not in (None, "", {})}
    kept.setdefault("measure", "count")
    return kept


def create(session: TenantSession, user_id: uuid.UUID, name: str, params: dict[str, Any]) -> SavedReport:
    name = (name or "").strip()
    if not name or len(name) > 100:
        message = "Give the report a name (up to 100 characters)."
        raise ValidationError(message, {"name": [message]})
    report = SavedReport(name=name, params=clean_params(session, params), owner_user_id=user_id, pinned=False)
    session.add(report)
    session.flush()
    return report


def listed(session: TenantSession) -> list[SavedReport]:
    return list(session.scalars(select(SavedReport).order_by(SavedReport.name, SavedReport.id)))


def get(session: TenantSession, report_id: uuid.UUID) -> SavedReport:
    report = session.get(SavedReport, report_id)
    if report is None:
        raise NotFound("No such saved report.")
    return report


def _may_change(report: SavedReport, user_id: uuid.UUID, is_admin: bool) -> None:
    if report.owner_user_id != user_id and not is_admin:
        raise PermissionDenied("Only the report's author or a workspace admin may change it.")


def change(
    session: TenantSession,
    user_id: uuid.UUID,
    report_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    is_admin: bool,
) -> SavedReport:
    """Rename, pin or unpin a report (its author, or an owner/admin)."""
    report = get(session, report_id)
    _may_change(report, user_id, is_admin)
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name or len(name) > 100:
            message = "Give the report a name (up to 100 characters)."
            raise ValidationError(message, {"name": [message]})
        report.name = name
    if changes.get("pinned") and not report.pinned:
        pinned = session.scalars(select(SavedReport.id).where(SavedReport.pinned.is_(True))).all()
        if len(pinned) >= MAX_PINNED:
            message = N_("The dashboard holds %(count)s reports: unpin one first.", count=MAX_PINNED)
            raise ValidationError(message, {"pinned": [message]})
    if "pinned" in changes:
        report.pinned = bool(changes["pinned"])
    session.flush()
    return report


def delete(
    session: TenantSession, user_id: uuid.UUID, report_id: uuid.UUID, *, is_admin: bool
) -> SavedReport:
    report = get(session, report_id)
    _may_change(report, user_id, is_admin)
    session.delete(report)
    session.flush()
    return report


def page_arguments(report: SavedReport) -> dict[str, str]:
    """The report page's URL arguments that run the report again."""
    params = report.params
    arguments = {name: str(params[name]) for name in PARAMS[:-1] if params.get(name)}
    arguments.update(
        {f"{reports.FILTER_PREFIX}{name}": value for name, value in params.get("filters", {}).items()}
    )
    return arguments


def card(session: TenantSession, report: SavedReport) -> DashboardCard:
    """A pinned report as a dashboard card: its chart, or why it no longer runs."""
    link = NavEntry(gettext("Open the report"), "core.reports_page", tuple(page_arguments(report).items()))
    try:
        rows = reports.run_report(session, **report.params)
    except SaasError as error:
        return DashboardCard(
            key=f"core.report.{report.id}", title=report.name, labels=(), series=(), link=link,
            empty=gettext("This report no longer runs: %(reason)s", reason=error.detail), order=60,
        )  # fmt: skip
    labels, series = reports.chart_series(
        rows, report.params.get("measure", "count"), report.params.get("then_by")
    )
    return DashboardCard(
        key=f"core.report.{report.id}", title=report.name, labels=labels, series=series, link=link,
        empty=gettext("No records match this report yet."), order=60,
    )  # fmt: skip


def pinned_cards(session: TenantSession) -> list[DashboardCard]:
    pinned = session.scalars(
        select(SavedReport)
        .where(SavedReport.pinned.is_(True))
        .order_by(SavedReport.created_at)
        .limit(MAX_PINNED)
    )
    return [card(session, report) for report in pinned]
