"""Page views: taking a batch from the tracking script, joining a visitor to a contact, and reading a
contact's visits back (their timeline, their download, segments).

A batch is written with one multi-row ``INSERT`` (and one upsert of its visitor): the script sends every
few seconds, so the endpoint's cost is per batch, not per view. Only the path of a page is kept (no query
string, which may carry addresses or tokens) and only the origin of a referrer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.website.models import WebsitePageView, WebsiteVisitor

MAX_EVENTS = 50
"""Page views one batch may carry (the script sends sooner)."""
MAX_AGE = timedelta(hours=24)
"""How old a view a batch may report: a tab left open keeps its queue, but not for ever."""
VISITED_EVENT = "website.visited"
IDENTIFIED_EVENT = "visitor.identified"
"""What marketing emits when a form or a tracked email names the visitor (payload ``visitor_id``,
``contact_id``): the website module listens, so marketing needs no knowledge of this module."""


@dataclass(frozen=True)
class Batch:
    visitor_id: uuid.UUID
    session_id: uuid.UUID
    views: list[dict[str, Any]]


def _uuid(value: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(N_("Not a valid batch."), {name: ["Send a UUID."]}) from None


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValidationError(N_("Not a valid batch."), {"events.path": ["Send the page's path (/...)."]})
    return value.split("?", 1)[0].split("#", 1)[0][:500]


def _referrer(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}"[:500] if parts.scheme in ("http", "https") else None


def parse_batch(data: Any, now: datetime) -> Batch:
    """The tracking script's JSON (``visitor``, ``session``, ``events``: ``path``, ``title``, ``referrer``,
    ``ago`` in milliseconds before sending) as rows to store; a ValidationError names what is wrong.

    Times are the server's clock minus ``ago``: a visitor's clock may be anything."""
    if not isinstance(data, dict):
        raise ValidationError(N_("Not a valid batch."), {"body": ["Send a JSON object."]})
    events = data.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise ValidationError(N_("Not a valid batch."), {"events": [f"Send 1 to {MAX_EVENTS} events."]})
    views = []
    for event in events:
        if not isinstance(event, dict):
            raise ValidationError(N_("Not a valid batch."), {"events": ["Each event is an object."]})
        ago = event.get("ago", 0)
        if type(ago) is not int or not 0 <= ago <= MAX_AGE.total_seconds() * 1000:
            raise ValidationError(N_("Not a valid batch."), {"events.ago": ["Milliseconds, up to a day."]})
        title = event.get("title")
        views.append(
            {
                "occurred_at": now - timedelta(milliseconds=ago),
                "path": _path(event.get("path")),
                "title": title[:300] if isinstance(title, str) and title else None,
                "referrer": _referrer(event.get("referrer")),
            }
        )
    return Batch(_uuid(data.get("visitor"), "visitor"), _uuid(data.get("session"), "session"), views)


def now() -> datetime:
    return datetime.now(UTC)


def record_batch(session: Session, batch: Batch, now: datetime | None = None) -> uuid.UUID | None:
    """Store a batch (one visitor upsert, one multi-row insert); the visitor's contact id, if joined.

    A joined visitor's batch is announced as ``website.visited`` (workflows trigger on it)."""
    from saas.webhooks.events import emit

    now = now or datetime.now(UTC)
    contact_id = session.scalar(
        pg_insert(WebsiteVisitor)
        .values(id=batch.visitor_id, first_seen_at=now, last_seen_at=now)
        .on_conflict_do_update(index_elements=[WebsiteVisitor.id], set_={"last_seen_at": now})
        .returning(WebsiteVisitor.contact_id)
    )
    rows = [{"visitor_id": batch.visitor_id, "session_id": batch.session_id, **view} for view in batch.views]
    session.execute(insert(WebsitePageView).values(rows))
    if contact_id is not None:
        emit(
            session,
            VISITED_EVENT,
            {
                "contact_id": contact_id,
                "visitor_id": batch.visitor_id,
                "session_id": batch.session_id,
                "paths": [view["path"] for view in batch.views],
            },
        )
    return contact_id


def identify_visitor(session: Session, visitor_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """Join a visitor to a contact: their earlier and later views become the contact's. A browser someone
    else used before is joined to whoever named themselves last."""
    now = datetime.now(UTC)
    session.execute(
        pg_insert(WebsiteVisitor)
        .values(id=visitor_id, contact_id=contact_id, identified_at=now, first_seen_at=now, last_seen_at=now)
        .on_conflict_do_update(
            index_elements=[WebsiteVisitor.id], set_={"contact_id": contact_id, "identified_at": now}
        )
    )


def on_event(session: Session, event: str, payload: dict[str, Any], changes: dict) -> None:
    """The module's event listener: a form or a tracked email named a visitor."""
    if event != IDENTIFIED_EVENT:
        return
    from saas.db import db
    from saas.modules.switches import is_module_enabled

    if not is_module_enabled(db.session, session.tenant.id, "website"):
        return
    try:
        visitor_id = uuid.UUID(str(payload.get("visitor_id")))
        contact_id = uuid.UUID(str(payload.get("contact_id")))
    except ValueError:
        return  # a visitor id a form carried but the script did not make: nothing to join
    identify_visitor(session, visitor_id, contact_id)


def views_of_contact(session: Session, contact_id: uuid.UUID, limit: int = 50) -> list[WebsitePageView]:
    """The contact's latest page views, newest first, across every browser joined to them."""
    return list(
        session.scalars(
            select(WebsitePageView)
            .join(WebsiteVisitor, WebsiteVisitor.id == WebsitePageView.visitor_id)
            .where(WebsiteVisitor.contact_id == contact_id)
            .order_by(WebsitePageView.occurred_at.desc(), WebsitePageView.id.desc())
            .limit(limit)
        )
    )


def visit_summary(session: Session, contact_id: uuid.UUID) -> dict[str, Any]:
    """How many views and sessions the contact has, and when they were last seen."""
    row = session.execute(
        select(
            func.count(WebsitePageView.id),
            func.count(func.distinct(WebsitePageView.session_id)),
            func.max(WebsitePageView.occurred_at),
        )
        .join(WebsiteVisitor, WebsiteVisitor.id == WebsitePageView.visitor_id)
        .where(WebsiteVisitor.contact_id == contact_id)
    ).one()
    return {"views": row[0], "sessions": row[1], "last_seen_at": row[2]}
