"""Tasks: something a member has to do by a date, about a contact, account or deal.

Lists run by due date (undated last). Finishing a task puts an entry on the timeline of what it was about.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal

from saas.db import TenantSession
from saas.i18n import N_, Phrase
from saas.modules.core.activities import acting_user_id, record_event
from saas.modules.core.pagination import SortKey
from saas.modules.core.services import RecordService
from saas.modules.sfa.deals import DEAL_SUBJECT, check_links, check_member
from saas.modules.sfa.models import Task

# Undated tasks sort after every dated one; a real date, so that a cursor can carry it.
UNDATED = datetime(9999, 12, 31, tzinfo=UTC)
_due_order = func.coalesce(Task.due_at, literal(UNDATED))


class TaskService(RecordService[Task]):
    def sort_keys(self) -> tuple[SortKey, ...]:
        return (
            SortKey(_due_order, lambda task: task.due_at or UNDATED, datetime.fromisoformat),
            SortKey(Task.id, lambda task: task.id, uuid.UUID),
        )

    def filters(
        self,
        *,
        status: str | None = None,
        assignee_user_id: uuid.UUID | None = None,
        contact_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        deal_id: uuid.UUID | None = None,
        due_before: datetime | None = None,
    ) -> list[ColumnElement[bool]]:
        equal = {
            Task.status: status,
            Task.assignee_user_id: assignee_user_id,
            Task.contact_id: contact_id,
            Task.account_id: account_id,
            Task.deal_id: deal_id,
        }
        conditions = [column == value for column, value in equal.items() if value is not None]
        if due_before is not None:
            conditions.append(Task.due_at < due_before)
        return conditions

    def check(self, session: TenantSession, record: Task) -> None:
        check_member(session, record.assignee_user_id, "assignee_user_id")
        check_links(
            session, contact_id=record.contact_id, account_id=record.account_id, deal_id=record.deal_id
        )

    def create(self, session: TenantSession, data: dict[str, Any]) -> Task:
        data = {"assignee_user_id": acting_user_id(session), **data}
        task = super().create(session, data)
        self._stamp_status(session, task, was_done=False)
        return task

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Task:
        was_done = self.get(session, record_id).status == "done"
        task = super().update(session, record_id, changes)
        self._stamp_status(session, task, was_done)
        return task

    @staticmethod
    def _stamp_status(session: TenantSession, task: Task, was_done: bool) -> None:
        """Finishing a task stamps the time and tells the timeline; reopening it clears the stamp."""
        if task.status == "done" and not was_done:
            task.done_at = datetime.now(UTC)
            if task.contact_id or task.account_id or task.deal_id:
                _record_done(session, task)
        elif task.status == "open":
            task.done_at = None
        session.flush()


def _record_done(session: TenantSession, task: Task) -> None:
    record_event(
        session,
        Phrase(N_("Task done: %(task)s"), {"task": task.title}),
        body=task.notes,
        contact_id=task.contact_id,
        account_id=task.account_id,
        subject_type=DEAL_SUBJECT if task.deal_id else None,
        subject_id=task.deal_id,
    )


tasks = TaskService(
    Task,
    "task",
    search=(Task.title,),
    sortable={
        "due_at": Task.due_at,
        "title": Task.title,
        "status": Task.status,
        "created_at": Task.created_at,
        "updated_at": Task.updated_at,
    },
)
