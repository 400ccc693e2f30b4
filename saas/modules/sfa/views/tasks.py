"""Task pages under /t/<slug>/tasks: core's record pages, by due date, filtered by status and assignee."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask_babel import pgettext

from saas.i18n import N_, format_moment
from saas.modules.core.models import Account, Contact
from saas.modules.core.views.columns import TIMESTAMP_COLUMNS, ListColumn
from saas.modules.core.views.records import (
    FormField,
    RecordPages,
    RecordWords,
    member_choices,
    register_record_pages,
    workspace_people,
)
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.deal_schemas import TASK_STATUSES, TaskFilters, TaskIn
from saas.modules.sfa.models import Deal, Task
from saas.modules.sfa.tasks import tasks
from saas.modules.sfa.views.deals import record_choices
from saas.tenants.routing import current_tenant_session


def link_field(name: str, label: str, model: type, label_attribute: str) -> FormField:
    """A select of the record a task is about, shown on the task's page by its name."""

    def show(task: Task) -> str | None:
        record_id = getattr(task, name)
        record = record_id and current_tenant_session().get(model, record_id)
        return getattr(record, label_attribute) if record else None

    return FormField(
        name, label, "select", choices=partial(record_choices, model, label_attribute), show=show
    )


def task_status_choices() -> list[tuple[str, str]]:
    """Each task status as the reader's language says it (a status alone, hence the context)."""
    labels = {"open": pgettext("task status", "Open"), "done": pgettext("task status", "Done")}
    return [(status, labels[status]) for status in TASK_STATUSES]


def _status_label(task: Task) -> str:
    return dict(task_status_choices()).get(task.status, task.status)


def _due(task: Task) -> str:
    """When the task is due, in the reader's language and time zone."""
    return format_moment(task.due_at, "short")


TASK_PAGES = RecordPages(
    service=tasks,
    schema_in=TaskIn,
    singular="task",
    plural="tasks",
    fields=(
        FormField("title", N_("Title"), required=True),
        FormField("due_at", N_("Due"), "datetime-local", show=_due),
        FormField(
            "assignee_user_id",
            N_("Assignee"),
            "select",
            choices=member_choices,
            show=lambda task: workspace_people().get(task.assignee_user_id),
        ),
        FormField(
            "status",
            N_("Status"),
            "select",
            choices=task_status_choices,
            show=_status_label,
        ),
        link_field("contact_id", N_("Contact"), Contact, "display_name"),
        link_field("account_id", N_("Account"), Account, "name"),
        link_field("deal_id", N_("Deal"), Deal, "name"),
        FormField("notes", N_("Notes"), "textarea"),
    ),
    columns=(
        ListColumn(N_("Title"), lambda task: task.title, "title", "title"),
        ListColumn(N_("Due"), _due, "due_at", "due_at"),
        ListColumn(N_("Assignee"), lambda task: workspace_people().get(task.assignee_user_id), "assignee"),
        ListColumn(N_("Status"), _status_label, "status", "status"),
        *TIMESTAMP_COLUMNS,
    ),
    blueprint="sfa",
    filters=TaskFilters,
    list_template="sfa/task_list.html",
    words=RecordWords(
        N_("Task"),
        N_("Tasks"),
        N_("New task"),
        N_("Edit task"),
        N_("Delete task"),
        N_("Delete this task?"),
        N_("Search tasks"),
        N_("No tasks yet."),
        N_("No tasks match “%(query)s”."),
        N_("Task saved."),
        N_("Task deleted."),
        N_("Another task looks like the same one"),
    ),
)

register_record_pages(pages, TASK_PAGES)


@pages.context_processor
def _task_filter_choices() -> dict[str, Any]:
    return {
        "task_filter_choices": lambda: {
            "status": task_status_choices(),
            "assignee_user_id": [choice for choice in member_choices() if choice[0] != ""],
        }
    }
