"""What live chat holds on a person, and how it erases them (privacy registry hooks).

A person's chats are those linked to their contact, or started with their email before it was linked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from saas.modules.chat.models import Chat
from saas.modules.registry import DataSubject

CHAT_FIELDS = ("status", "visitor_name", "visitor_email", "page_url", "created_at", "closed_at")


def _theirs(subject: DataSubject):
    conditions = [Chat.contact_id == subject.contact_id]
    if subject.email:
        conditions.append(func.lower(Chat.visitor_email) == subject.email.lower())
    return or_(*conditions)


def personal_data(session: Session, subject: DataSubject) -> dict:
    chats = session.scalars(select(Chat).where(_theirs(subject)).order_by(Chat.created_at, Chat.id)).all()
    return {
        "chats": [
            {name: getattr(chat, name) for name in CHAT_FIELDS}
            | {
                "messages": [
                    {
                        "from": "you" if m.author == "visitor" else "support",
                        "body": m.body,
                        "at": m.created_at,
                    }
                    for m in chat.messages
                ]
            }
            for chat in chats
        ]
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    # Messages go with their chat (ON DELETE CASCADE).
    chats = session.execute(delete(Chat).where(_theirs(subject))).rowcount
    return {"chats": chats}


def retention_keep(cutoff: datetime) -> list[Select]:
    """Visitors of chats still open, or active since the cutoff."""
    return [
        select(Chat.contact_id).where(
            Chat.contact_id.is_not(None), or_(Chat.status != "closed", Chat.updated_at >= cutoff)
        )
    ]
