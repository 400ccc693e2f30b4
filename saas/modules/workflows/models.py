"""Tables of the workflows module (tenant schema): workflows (trigger, conditions, ordered steps), each
record's enrolment in one (its current step and next run), the step history that doubles as the
idempotency key of every side effect, the outbox of workflow emails, and the state of periodic triggers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.automation import models as automation
from saas.db import TenantBase
from saas.modules.core.models import Timestamps

ENROLMENT_STATUSES = ("active", "done", "stopped", "failed", "refused")
"""``active``: steps remain (it may be waiting); ``done``: it ran to the end; ``stopped``: a stop step, a
switched-off workflow or a detected loop ended it; ``failed``: a step raised; ``refused``: never started
(the hourly limit)."""


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


class WorkflowEnrolment(automation.EnrolmentColumns, TenantBase):
    """One record going through one workflow: where it is and when it runs next."""

    __tablename__ = "workflow_enrolments"
    __table_args__ = (
        CheckConstraint(f"status IN {automation.sql_in(ENROLMENT_STATUSES)}", name="status"),
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

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    """The workflow's steps when this run started: an edit does not change a run under way."""
    record_type: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[uuid.UUID] = mapped_column()
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    """The person emails go to (the record itself, or its contact), if any."""
    status: Mapped[str] = mapped_column(String(10), default="active")
    chain: Mapped[list[str]] = mapped_column(JSONB, default=list, sort_order=automation.LATE)
    """``workflow_id:record_id`` of every run whose step caused this one (loop detection)."""
    trigger_event: Mapped[str] = mapped_column(String(100), sort_order=automation.LATE)


class WorkflowStepRun(automation.HistoryColumns, TenantBase):
    """What one step did for one enrolment, and when. Written in the transaction of the step's side effect
    under a unique key, so a step re-run after a killed worker finds it done and does nothing twice.
    ``outcome``: ``done``, ``skipped``, ``waiting``, ``branched``, ``stopped`` or ``failed``."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (UniqueConstraint("enrolment_id", "step_index", "attempt_key"),)
    enrolment_table = "workflow_enrolments"


class WorkflowEmail(automation.OutboxColumns, TenantBase):
    """The outbox of workflow emails: queued in the step's transaction, mailed by a job after it commits,
    marked ``sending`` before and ``sent`` right after the server accepted it (never mailed twice)."""

    __tablename__ = "workflow_emails"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_index"),
        CheckConstraint(f"status IN {automation.sql_in(automation.EMAIL_STATUSES)}", name="status"),
        Index("ix_workflow_emails_status", "status"),
    )

    enrolment_table = "workflow_enrolments"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True, sort_order=automation.RECIPIENT
    )
    template_id: Mapped[uuid.UUID] = mapped_column(sort_order=automation.EARLY)
    """The marketing campaign whose subject and body the email uses."""
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), sort_order=automation.LATE)


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
