"""API resource /api/v1/tasks: by due date, filtered by status, assignee and what they are about."""

from __future__ import annotations

from saas.modules.core.api.records import register_record_resource
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.deal_schemas import TaskIn, TaskListQuery, TaskOut, TaskPage
from saas.modules.sfa.tasks import tasks

register_record_resource(api, "tasks", tasks, TaskIn, TaskOut, TaskPage, list_query=TaskListQuery)
