"""The columns every automation's tables share, as declarative mixins: an enrolment's position, a line of
its history, a row of its email outbox. Each module's table adds its own columns and keeps its names,
constraints and indexes; ``sort_order`` keeps every table's column order as its migration created it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

EMAIL_STATUSES = ("queued", "sending", "sent", "failed", "skipped")
"""An outbox row's life: ``sending`` is committed before the mail goes out, ``sent`` right after."""
FIRST, RECIPIENT, EARLY, LATE = -3, -2, -1, 1
"""``sort_order`` slots: a table's own columns (0 unless placed in a slot) stand between the mixin's early
and late ones; ``RECIPIENT``: an outbox table's recipient, right after the step."""


def sql_in(values: tuple[str, ...]) -> str:
    """``('a', 'b')``: a CHECK constraint's list of allowed values (our own constants, never input)."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class EnrolmentColumns:
    """Where an enrolment is: its step, when it runs next, since when it waits, and how it ended. The
    table puts its own columns (what it enrols, ``steps``, ``status``) between ``id`` and these."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=FIRST)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), sort_order=LATE)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), sort_order=LATE)
    reason: Mapped[str | None] = mapped_column(String(300), sort_order=LATE)


class HistoryColumns:
    """One line of an enrolment's history, unique per (enrolment, step, attempt key): written in the
    transaction of the step's side effect, so a step run again after a killed worker finds it done."""

    enrolment_table: ClassVar[str]
    """The enrolments' table the lines belong to."""
    attempt_key_length: ClassVar[int] = 20

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)

    @declared_attr
    def enrolment_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey(f"{cls.enrolment_table}.id", ondelete="CASCADE"), index=True)

    step_index: Mapped[int] = mapped_column(Integer)

    @declared_attr
    def attempt_key(cls) -> Mapped[str]:
        """``done`` for a finished step, ``wait`` when its wait began (an automation may add its own)."""
        return mapped_column(String(cls.attempt_key_length), default="done")

    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxColumns:
    """A row of an email outbox: queued in the step's transaction, mailed by a job after it commits. The
    table adds who it goes to (``contact_id``, in the ``RECIPIENT`` slot), what it says and what came of
    it."""

    enrolment_table: ClassVar[str]

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True, sort_order=FIRST)

    @declared_attr
    def enrolment_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey(f"{cls.enrolment_table}.id", ondelete="CASCADE"), sort_order=FIRST)

    step_index: Mapped[int] = mapped_column(Integer, sort_order=FIRST)
    email: Mapped[str] = mapped_column(String(254), sort_order=EARLY)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
