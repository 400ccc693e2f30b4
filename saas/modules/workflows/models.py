"""Tables of the workflows module (tenant schema): workflows (trigger, conditions, ordered steps), each
record's enrolment in one (its current step and next run), the step history that doubles as the
idempotency key of every side effect, the outbox of workflow emails, and the state of periodic triggers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantBase
from saas.modules.core.models import Timestamps

ENROLMENT_STATUSES = ("active", "done", "stopped", "failed", "refused")
"""``active``: steps remain (it may be waiting); ``done``: it ran to the end; ``stopped``: a stop step, a
switched-off workflow or a detected loop ended it; ``failed``: a step raised; ``refused``: never started
(the hourly limit)."""
EMAIL_STATUSES = ("queued", "sending", "sent", "failed", "skipped")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Workflow(Timestamps, TenantBase):
    """A trigger, conditions on the record, and ordered steps. ``version`` counts edits: an enrolment
    keeps the steps of the version it started on."""

    __tablename__ = "workflows"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    """The member who built it (a platform user id): tasks for "the owner" of a record without one go to
    them."""
    base_url: Mapped[str | None] = mapped_column(String(300))
    """The site's address when it was saved: the tracked links of its emails point there."""
    round_robin: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    """Per assign-owner step (its index), how many records it has assigned: the next member's turn."""


class WorkflowEnrolment(TenantBase):
    """One record going through one workflow: where it is and when it runs next."""

    __tablename__ = "workflow_enrolments"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(ENROLMENT_STATUSES)}", name="status"),
        # One live run per record and workflow: a second trigger while it runs changes nothing.
        Index(
            "uq_workflow_enrolments_live",
            "workflow_id",
            "record_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_workflow_enrolments_due", "next_run_at", postgresql_where=text("status = 'active'")),
        Index("ix_workflow_enrolments_record", "record_type", "record_id"),
        Index("ix_workflow_enrolments_workflow", "workflow_id", "enrolled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    """The workflow's steps when this run started: an edit does not change a run under way."""
    record_type: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[uuid.UUID] = mapped_column()
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    """The person emails go to (the record itself, or its contact), if any."""
    status: Mapped[str] = mapped_column(String(10), default="active")
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    chain: Mapped[list[str]] = mapped_column(JSONB, default=list)
    """``workflow_id:record_id`` of every run whose step caused this one (loop detection)."""
    trigger_event: Mapped[str] = mapped_column(String(100))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(300))


class WorkflowStepRun(TenantBase):
    """What one step did for one enrolment, and when. Written in the transaction of the step's side effect
    under a unique key, so a step re-run after a killed worker finds it done and does nothing twice."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (UniqueConstraint("enrolment_id", "step_index", "attempt_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_enrolments.id", ondelete="CASCADE"), index=True
    )
    step_index: Mapped[int] = mapped_column(Integer)
    attempt_key: Mapped[str] = mapped_column(String(20), default="done")
    """``done`` for a finished step; ``wait`` when a wait began (its end is ``done``)."""
    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(12))
    """``done``, ``skipped``, ``waiting``, ``branched``, ``stopped`` or ``failed``."""
    detail: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkflowEmail(TenantBase):
    """The outbox of workflow emails: queued in the step's transaction, mailed by a job after it commits,
    marked ``sending`` before and ``sent`` right after the server accepted it (never mailed twice)."""

    __tablename__ = "workflow_emails"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_index"),
        CheckConstraint(f"status IN {_in(EMAIL_STATUSES)}", name="status"),
        Index("ix_workflow_emails_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_enrolments.id", ondelete="CASCADE"))
    step_index: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[uuid.UUID] = mapped_column()
    """The marketing campaign whose subject and body the email uses."""
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowSegmentMember(TenantBase):
    """Who was in a segment-triggered workflow's segment at the last check: the next diff's baseline."""

    __tablename__ = "workflow_segment_members"
    __table_args__ = (PrimaryKeyConstraint("workflow_id", "contact_id"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))


class WorkflowDateHit(TenantBase):
    """A date trigger that fired for a record and date: the daily check fires each once."""

    __tablename__ = "workflow_date_hits"
    __table_args__ = (PrimaryKeyConstraint("workflow_id", "record_id", "due_on"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    record_id: Mapped[uuid.UUID] = mapped_column()
    due_on: Mapped[date] = mapped_column(Date)
