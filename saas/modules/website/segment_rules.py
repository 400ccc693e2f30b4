"""The segment rule website activity adds: contacts who viewed a page (or a section: the path and
everything under it) within the last 7 or 30 days, or not within the last 30."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, not_, or_

from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.registry import SegmentField
from saas.modules.website.models import WebsitePageView, WebsiteVisitor

DAYS = {"visited_within_7_days": 7, "visited_within_30_days": 30, "not_visited_within_30_days": 30}


def _condition(op: str, value: Any, now: datetime) -> ColumnElement[bool]:
    path = str(value).rstrip("/") or "/"
    page = WebsitePageView.path == path
    if path != "/":
        page = or_(page, WebsitePageView.path.startswith(path + "/", autoescape=True))
    viewed = exists().where(
        WebsiteVisitor.contact_id == Contact.id,
        WebsitePageView.visitor_id == WebsiteVisitor.id,
        WebsitePageView.occurred_at >= now - timedelta(days=DAYS[op]),
        page,
    )
    return not_(viewed) if op.startswith("not_") else viewed


def _check(op: str, value: Any) -> list[str]:
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 500:
        return ["Give a page's path, starting with / (e.g. /pricing)."]
    return []


WEBSITE_PAGE = SegmentField(
    key="website_page",
    label=N_("Website page viewed"),
    ops=(
        ("visited_within_7_days", N_("viewed within the last 7 days")),
        ("visited_within_30_days", N_("viewed within the last 30 days")),
        ("not_visited_within_30_days", N_("not viewed within the last 30 days")),
    ),
    condition=_condition,
    check=_check,
)
