"""What the mailbox module holds on a person, and how it erases them (privacy registry hooks).

A person's mail is every kept message they sent or received (their address among its participants)
and every thread on their contact's timeline; erasure deletes those threads whole, attachments too.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saas.modules.core.models import Activity
from saas.modules.mailbox.models import MailMessage, MailThreadEntry
from saas.modules.mailbox.threads import drop_threads
from saas.modules.registry import DataSubject


def _threads_of(session: Session, subject: DataSubject) -> list[uuid.UUID]:
    on_timeline = (
        select(MailThreadEntry.thread_id)
        .join(Activity, Activity.id == MailThreadEntry.activity_id)
        .where(Activity.contact_id == subject.contact_id)
    )
    conditions = [MailMessage.thread_id.in_(on_timeline)]
    if subject.email:
        conditions.append(MailMessage.participants.any(subject.email.lower()))
    return list(session.scalars(select(MailMessage.thread_id).where(or_(*conditions)).distinct()))


def personal_data(session: Session, subject: DataSubject) -> dict:
    """Every message of the person's threads, whole, with its attachments' names."""
    threads = _threads_of(session, subject)
    messages = session.scalars(
        select(MailMessage)
        .where(MailMessage.thread_id.in_(threads))
        .order_by(MailMessage.sent_at, MailMessage.id)
    )
    return {
        "emails": [
            {
                "subject": message.subject,
                "from": message.from_address,
                "to": message.to_addresses,
                "cc": message.cc_addresses,
                "sent_at": message.sent_at,
                "direction": message.direction,
                "body": message.body_text,
                "attachments": [attachment.name for attachment in message.attachments],
            }
            for message in messages
        ]
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Deletes the person's threads (messages, attachments' objects once committed, timeline entries)."""
    return {"mail_messages": drop_threads(session, _threads_of(session, subject))}
