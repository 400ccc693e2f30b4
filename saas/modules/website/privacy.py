"""What the website module holds on a person, and how it erases them (privacy registry hooks): the browsers
joined to their contact and those browsers' raw page views. The daily figures name nobody and stay."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from saas.modules.registry import DataSubject
from saas.modules.website.models import WebsitePageView, WebsiteVisitor


def personal_data(session: Session, subject: DataSubject) -> dict:
    visitors = session.scalars(
        select(WebsiteVisitor)
        .where(WebsiteVisitor.contact_id == subject.contact_id)
        .order_by(WebsiteVisitor.first_seen_at, WebsiteVisitor.id)
    ).all()
    views = session.scalars(
        select(WebsitePageView)
        .where(WebsitePageView.visitor_id.in_([visitor.id for visitor in visitors]))
        .order_by(WebsitePageView.occurred_at, WebsitePageView.id)
    ).all()
    return {
        "website_visitors": [
            {
                "id": visitor.id,
                "first_seen_at": visitor.first_seen_at,
                "last_seen_at": visitor.last_seen_at,
                "identified_at": visitor.identified_at,
            }
            for visitor in visitors
        ],
        "website_page_views": [
            {
                "visitor_id": view.visitor_id,
                "session_id": view.session_id,
                "at": view.occurred_at,
                "path": view.path,
                "title": view.title,
                "referrer": view.referrer,
            }
            for view in views
        ],
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    theirs = select(WebsiteVisitor.id).where(WebsiteVisitor.contact_id == subject.contact_id)
    views = session.scalar(
        select(func.count()).select_from(WebsitePageView).where(WebsitePageView.visitor_id.in_(theirs))
    )
    # Their page views go with the browser (ON DELETE CASCADE).
    visitors = session.execute(delete(WebsiteVisitor).where(WebsiteVisitor.contact_id == subject.contact_id))
    return {"website_visitors": visitors.rowcount, "website_page_views": views}
