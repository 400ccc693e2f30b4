"""Tables of the sequences module (tenant schema): sequences (a salesperson's ordered emails, tasks and
waits), each contact's enrolment in one (its current step and next run, who enrolled it), the history of
what each step did (doubling as the idempotency key of its side effect), and the outbox of their emails."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.automation import models as automation
from saas.db import TenantBase
from saas.modules.core.models import Timestamps

ENROLMENT_STATUSES = (
    "active",
    "paused",
    "finished",
    "replied",
    "booked",
    "unsubscribed",
    "stopped",
    "failed",
)
"""``active``: steps remain (it may be waiting); ``paused``: held by a person until resumed; ``finished``:
it ran to the end; ``replied``, ``booked``, ``unsubscribed``: the contact answered, booked a meeting or
withdrew consent; ``stopped``: a person stopped it; ``failed``: a step raised."""
LIVE_STATUSES = ("active", "paused")


class Sequence(Timestamps, TenantBase):
    """A salesperson's outreach: ordered steps (email, task, wait). Enrolments keep the steps they started
    with, so an edit changes only new enrolments."""

    __tablename__ = "sequences"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column()
    """The member it belongs to (a platform user id); contacts enrolled by an API token go out as them."""
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class SequenceEnrolment(automation.EnrolmentColumns, TenantBase):
    """One contact going through one sequence for one salesperson: where it is and when it runs next."""

    __tablename__ = "sequence_enrolments"
    __table_args__ = (
        CheckConstraint(f"status IN {automation.sql_in(ENROLMENT_STATUSES)}", name="status"),
        # At most one live enrolment per contact and sequence: enrolling again changes nothing.
        Index(
            "uq_sequence_enrolments_live",
            "sequence_id",
            "contact_id",
            unique=True,
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
        Index("ix_sequence_enrolments_due", "next_run_at", postgresql_where=text("status = 'active'")),
        Index("ix_sequence_enrolments_contact", "contact_id"),
        Index("ix_sequence_enrolments_sequence", "sequence_id", "user_id"),
    )

    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    """The salesperson who enrolled the contact: emails go out as them, the tasks and counts are theirs."""
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), default="active")


class SequenceEvent(automation.HistoryColumns, TenantBase):
    """What happened to an enrolment: a step done (unique per enrolment, step and attempt key, written in
    the step's transaction, so a step re-run after a killed worker finds it done), a pause, a stop. ``kind``:
    the step's type (``email``, ``task``, ``wait``), or ``enrolled``, ``paused``, ``resumed``, ``stop``."""

    __tablename__ = "sequence_events"
    __table_args__ = (UniqueConstraint("enrolment_id", "step_index", "attempt_key"),)

    enrolment_table = "sequence_enrolments"
    attempt_key_length = 40
    """``done`` for a finished step, ``wait`` when its wait began; a random key for pauses and stops."""


class SequenceEmail(automation.OutboxColumns, TenantBase):
    """The outbox of sequence emails: written (merged) in the step's transaction, mailed by a job after it
    commits, marked ``sending`` before and ``sent`` right after the server accepted it."""

    __tablename__ = "sequence_emails"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_index"),
        CheckConstraint(f"status IN {automation.sql_in(automation.EMAIL_STATUSES)}", name="status"),
        Index("ix_sequence_emails_status", "status"),
        Index("ix_sequence_emails_thread", "mail_thread_id"),
        Index("ix_sequence_emails_message_id", "message_id_header"),
    )

    enrolment_table = "sequence_enrolments"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True, sort_order=automation.RECIPIENT
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(sort_order=automation.EARLY)
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    message_id_header: Mapped[str | None] = mapped_column(String(998), sort_order=automation.LATE)
    """The sent message's Message-ID: a reply names it (In-Reply-To, References)."""
    mail_thread_id: Mapped[uuid.UUID | None] = mapped_column(sort_order=automation.LATE)
    """Sent through the salesperson's mailbox: the mail thread it started or joined (replies land there)."""
