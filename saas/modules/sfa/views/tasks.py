"""Task pages under /t/<slug>/tasks: core's record pages, by due date, filtered by status and assignee."""

from __future__ import annotations

from functools import partial
from typing import Any

from saas.modules.core.models import Account, Contact
from saas.modules.core.views import (
    FormField,
    RecordPages,
    member_choices,
    register_record_pages,
    workspace_people,
)
from saas.modules.core.views_columns import TIMESTAMP_COLUMNS, ListColumn
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


def _due(task: Task) -> str:
    return task.due_at.strftime("%Y-%m-%d %H:%M UTC") if task.due_at else ""


TASK_PAGES = RecordPages(
    service=tasks,
    schema_in=TaskIn,
    singular="task",
    plural="tasks",
    fields=(
        FormField("title", "Title", required=True),
        FormField("due_at", "Due (UTC)", "datetime-local", show=_due),
        FormField(
            "assignee_user_id",
            "Assignee",
            "select",
            choices=member_choices,
            show=lambda task: workspace_people().get(task.assignee_user_id),
        ),
        FormField(
            "status",
            "Status",
            "select",
            choices=lambda: [(status, status.capitalize()) for status in TASK_STATUSES],
        ),
        link_field("contact_id", "Contact", Contact, "display_name"),
        link_field("account_id", "Account", Account, "name"),
        link_field("deal_id", "Deal", Deal, "name"),
        FormField("notes", "Notes", "textarea"),
    ),
    columns=(
        ListColumn("Title", lambda task: task.title, "title", "title"),
        ListColumn("Due", _due, "due_at", "due_at"),
        ListColumn("Assignee", lambda task: workspace_people().get(task.assignee_user_id), "assignee"),
        ListColumn("Status", lambda task: task.status.capitalize(), "status", "status"),
        *TIMESTAMP_COLUMNS,
    ),
    blueprint="sfa",
    filters=TaskFilters,
    list_template="sfa/task_list.html",
)

register_record_pages(pages, TASK_PAGES)


@pages.context_processor
def _task_filter_choices() -> dict[str, Any]:
    return {
        "task_filter_choices": lambda: {
            "status": [(status, status.capitalize()) for status in TASK_STATUSES],
            "assignee_user_id": [choice for choice in member_choices() if choice[0] != ""],
        }
    }
