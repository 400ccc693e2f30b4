"""Bulk actions on many records of one type: assign an owner, change the stage or status, delete, export CSV.

Works for any record type of the registry (contacts, accounts, leads, deals, tickets, custom objects) through
its ``RecordService``: each change goes through the service's own ``update``/``delete`` (its checks, history
and events), one savepoint per record so that a refused record is reported and the others go on. A selection
is ids or "every record this list filter matches"; over ``JOB_THRESHOLD`` records it runs as a job that
commits batch by batch and keeps its progress in Redis. Each action writes one audit entry.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import marshmallow
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from saas.audit import record_audit
from saas.auth.services import workspace_members
from saas.db import TenantSession, db
from saas.errors import NotFound, PermissionDenied, SaasError, ValidationError
from saas.i18n import N_, FilledMessage, Phrase, shown_phrase, translate
from saas.modules.core import custom_fields
from saas.modules.core.activities import acting_user_id
from saas.modules.core.saved_views import PAGING, clean_query
from saas.modules.registry import RecordType, registry
from saas.tenants.routing import ACTOR_KEY

JOB_THRESHOLD = 200
"""Selections larger than this run as a job with live progress; smaller ones within the request."""
BATCH_SIZE = 200
"""Records changed per transaction in a job: a failure never loses more than one batch's work."""
MAX_SELECTION = 100_000
FAILURES_KEPT = 100
"""Failed records a report lists one by one (it counts them all)."""
PROGRESS_SECONDS = 24 * 3600
"""How long a job's progress stays readable after it was last written."""

ACTIONS = ("assign_owner", "set_stage", "add_tag", "add_to_list", "delete")
"""Actions that change records (export only reads them: :func:`export_csv`)."""
OWNER_FIELDS = ("owner_user_id", "assignee_user_id")
"""The column holding a record's owner (deals, leads) or assignee (tickets), first found."""
STAGE_FIELDS = ("stage_id", "status")
"""The column holding a record's stage (deals) or status (leads, tickets), first found."""
TAG_FIELDS = ("tags",)
"""The column holding a record's tags (tickets: the only record type with tags)."""
ADMIN_ROLES = ("owner", "admin")
DELETE_ROLES = ADMIN_ROLES
"""Deleting many records at once is an admin's action; a member deletes one at a time."""


def _column_of(record_type: RecordType, names: Sequence[str]) -> str | None:
    columns = record_type.service().model.__table__.c
    return next((name for name in names if name in columns), None)


def field_of(record_type: RecordType, action: str) -> str | None:
    """The column ``action`` sets on this record type; None when the type has no such column."""
    if action == "assign_owner":
        return _column_of(record_type, OWNER_FIELDS)
    if action == "set_stage":
        return _column_of(record_type, STAGE_FIELDS)
    if action == "add_tag":
        return _column_of(record_type, TAG_FIELDS)
    return None


def actions_of(record_type: RecordType, *, with_lists: bool = False) -> list[str]:
    """The actions this record type takes: owner and stage only where it has such a column, "add to a list"
    where some module keeps lists of it (``with_lists``: :func:`list_choices` offers one)."""
    return [
        a
        for a in ACTIONS
        if a == "delete" or (a == "add_to_list" and with_lists) or field_of(record_type, a) is not None
    ]


def list_choices(session: TenantSession, record_type: RecordType) -> list[tuple[str, str]]:
    """``(key, name)`` of the lists (marketing's static lists) the records may be added to."""
    from saas.modules.switches import enabled_module_keys

    enabled = enabled_module_keys(db.session, session.tenant.id)
    return registry.list_choices(session, record_type.table, enabled)


def stage_choices(session: TenantSession, record_type: RecordType) -> list[tuple[str, str]]:
    """``(value, label)`` of the stages or statuses a record of this type may be moved to: the rows of the
    table its stage column points at (named by the module that names them), else its list filter's choices."""
    name = field_of(record_type, "set_stage")
    if name is None:
        return []
    column = record_type.service().model.__table__.c[name]
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table
        ids = list(session.scalars(select(target.c.id).limit(500)))
        labels = registry.record_labels(session, target.name, ids)
        return sorted(((str(i), labels.get(i, str(i))) for i in ids), key=lambda choice: choice[1])
    labels = record_type.value_labels(name) if record_type.value_labels is not None else {}
    schema_field = record_type.list_query().fields.get(name)
    for validator in getattr(schema_field, "validators", []):
        if isinstance(validator, marshmallow.validate.OneOf):
            return [(str(choice), labels.get(str(choice), str(choice))) for choice in validator.choices]
    return []


@dataclass(frozen=True)
class BulkAction:
    """What to do to the selected records: an action and, for those that set a field, the new value."""

    record_type: RecordType
    action: str
    field: str | None = None
    value: Any = None


def checked_action(
    session: TenantSession, record_type: RecordType, action: str, value: Any, role: str
) -> BulkAction:
    """``action`` with ``value`` checked for this record type and the member's role, or ValidationError
    (PermissionDenied for a role that may not)."""
    lists = list_choices(session, record_type)
    if action not in actions_of(record_type, with_lists=bool(lists)):
        choices = ", ".join(actions_of(record_type, with_lists=bool(lists)))
        raise ValidationError(
            N_("Unknown action %(action)s.", action=repr(action)),
            {"action": [N_("One of: %(choices)s.", choices=choices)]},
        )
    if action == "delete":
        if role not in DELETE_ROLES:
            raise PermissionDenied("Only workspace owners or admins may delete records in bulk.")
        return BulkAction(record_type, action)
    if action == "add_to_list":
        if str(value) not in {key for key, _ in lists}:
            raise ValidationError("Unknown list.", {"value": ["Choose one of the workspace's static lists."]})
        return BulkAction(record_type, action, None, str(value))
    name = field_of(record_type, action)
    value = None if value in (None, "") else str(value)
    if action == "assign_owner":
        members = {str(user_id) for user_id, _ in workspace_members(db.session, session.tenant.id)}
        if value is not None and value not in members:
            raise ValidationError("Unknown owner.", {"value": ["Choose a member of this workspace."]})
        return BulkAction(record_type, action, name, uuid.UUID(value) if value else None)
    if action == "add_tag":
        tag = (value or "").strip().lower()
        if not tag or len(tag) > 50:
            raise ValidationError("Give a tag.", {"value": ["A tag of 1 to 50 characters."]})
        return BulkAction(record_type, action, name, tag)
    allowed = [choice for choice, _ in stage_choices(session, record_type)]
    if value not in allowed:
        raise ValidationError(
            "Unknown stage or status.", {"value": [N_("One of: %(choices)s.", choices=", ".join(allowed))]}
        )
    column = record_type.service().model.__table__.c[name]
    return BulkAction(record_type, action, name, uuid.UUID(value) if column.foreign_keys else value)


def selected_ids(
    session: TenantSession,
    record_type: RecordType,
    *,
    ids: Sequence[Any] | None = None,
    query: dict[str, str] | None = None,
) -> list[uuid.UUID]:
    """The ids of the selection: of ``ids``, those that are records of this type in this workspace (any
    other id is dropped: it names nothing here); or every record the list ``query`` (``q``, filters,
    ``cf_<key>``) matches, in list order."""
    service = record_type.service()
    model: Any = service.model
    if ids is not None:
        wanted = []
        for given in ids:
            try:
                wanted.append(uuid.UUID(str(given)))
            except ValueError:
                raise ValidationError(
                    "Ids are record ids.", {"ids": [N_("Not an id: %(id)s.", id=repr(given))]}
                ) from None
        if len(wanted) > MAX_SELECTION:
            raise ValidationError(
                "Too many records.", {"ids": [N_("At most %(count)s.", count=format(MAX_SELECTION, ","))]}
            )
        found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))
        return [record_id for record_id in dict.fromkeys(wanted) if record_id in found]
    query = clean_query(session, record_type.table, {k: v for k, v in (query or {}).items() if k != "sort"})
    plain = {k: v for k, v in query.items() if not k.startswith(custom_fields.PREFIX)}
    loaded = record_type.list_query().load(plain)
    prefix = custom_fields.PREFIX
    custom = {k.removeprefix(prefix): v for k, v in query.items() if k.startswith(prefix)}
    filters = {k: v for k, v in loaded.items() if k not in PAGING and k not in ("q", "sort")}
    if "me" in inspect.signature(service.filters).parameters:  # a list of "mine" (my tickets)
        filters["me"] = acting_user_id(session)
    matching = service.matching(
        session, q=loaded.get("q"),
        where=custom_fields.filter_conditions(session, record_type.table, custom), **filters,
    )  # fmt: skip
    keys = [key.column for key in service.sort_keys()]
    statement = matching.with_only_columns(model.id).order_by(*keys).limit(MAX_SELECTION + 1)
    found = list(session.scalars(statement))
    if len(found) > MAX_SELECTION:
        raise ValidationError(
            "Too many records.",
            {"query": [N_("Narrow the filter to %(count)s.", count=format(MAX_SELECTION, ","))]},
        )
    return found


@dataclass
class BulkReport:
    """What a bulk action did: records changed, and each refused one with the reason (the first ones)."""

    total: int
    done: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, record_id: uuid.UUID, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < FAILURES_KEPT:
            failure: dict[str, Any] = {"id": str(record_id), "error": reason}
            if isinstance(reason, FilledMessage):
                # A job's progress is stored as JSON: the phrase beside the English text lets its page
                # show the reason in the reader's language (shown_failure).
                values = {k: v if isinstance(v, int | float) else str(v) for k, v in reason.values.items()}
                failure["phrase"] = Phrase(reason.msgid, values, reason.translated).stored()
            self.failures.append(failure)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "failed": self.failed, "failures": self.failures}


def shown_failure(failure: dict[str, Any]) -> str:
    """A refused record's reason in the reader's language, from a report or a job's stored progress."""
    return shown_phrase(failure.get("phrase"), fallback=translate(failure["error"])) or ""


def _apply_one(session: TenantSession, action: BulkAction, record_id: uuid.UUID) -> None:
    service = action.record_type.service()
    if action.action == "delete":
        service.delete(session, record_id)
    elif action.action == "add_to_list":
        registry.add_to_list(session, action.record_type.table, action.value, [record_id])
    elif action.action == "add_tag":
        tags = list(getattr(service.get(session, record_id), action.field) or [])
        if action.value not in tags:
            service.update(session, record_id, {action.field: [*tags, action.value]})
    else:
        service.update(session, record_id, {action.field: action.value})


def apply(
    session: TenantSession,
    action: BulkAction,
    ids: Sequence[uuid.UUID],
    *,
    after_batch: Callable[[BulkReport], None] | None = None,
) -> BulkReport:
    """Apply ``action`` to each record, a savepoint each: a record its service refuses (a lead that cannot
    go back from converted, a deal lost without a reason) is reported and the others are changed.
    ``after_batch`` runs after every ``BATCH_SIZE`` records (a job commits there and shows its progress)."""
    report = BulkReport(total=len(ids))
    for start in range(0, len(ids), BATCH_SIZE):
        for record_id in ids[start : start + BATCH_SIZE]:
            try:
                with session.begin_nested():
                    _apply_one(session, action, record_id)
                report.done += 1
            except SaasError as error:
                report.refuse(record_id, error.detail)
            except DBAPIError as error:  # a constraint of the database: the record stays as it was
                report.refuse(
                    record_id,
                    N_("The database refused the change (%(reason)s).", reason=type(error.orig).__name__),
                )
        if after_batch is not None:
            after_batch(report)
    audit(session, action, report)
    return report


def audit(session: TenantSession, action: BulkAction, report: BulkReport, job_id: str | None = None) -> None:
    """One audit entry for the whole action (not one per record), committed with the platform session."""
    user_id = acting_user_id(session)
    details = {"action": action.action, "done": report.done, "failed": report.failed, "total": report.total}
    if action.field is not None or action.action == "add_to_list":
        details |= {"field": action.field, "value": None if action.value is None else str(action.value)}
    record_audit(
        db.session, f"records.bulk_{action.action}", actor=f"user:{user_id}" if user_id else "system",
        tenant_id=session.tenant.id, target=action.record_type.table, details=details,
    )  # fmt: skip


# --- jobs: progress kept in Redis under the tenant's id, so another workspace's job id reads as none ---


_JOB_ID = re.compile(r"[0-9a-f]{32}")


def _progress_key(tenant_id: str, job_id: str) -> str:
    return f"bulk:{tenant_id}:{job_id}"


def _save_progress(tenant_id: str, job_id: str, progress: dict[str, Any]) -> None:
    from saas.jobs import redis_connection

    redis_connection().set(_progress_key(tenant_id, job_id), json.dumps(progress), ex=PROGRESS_SECONDS)


def progress_of(tenant_id: str, job_id: str) -> dict[str, Any]:
    """A bulk job's progress: status (queued, running, done, failed), total, done, failed, failures."""
    from saas.jobs import redis_connection

    if not _JOB_ID.fullmatch(job_id):  # not one of ours: never a key read from Redis
        raise NotFound("No such bulk action.")
    stored = redis_connection().get(_progress_key(tenant_id, job_id))
    if stored is None:
        raise NotFound("No such bulk action.")
    return json.loads(stored)


def start_job(
    session: TenantSession, action: BulkAction, ids: Sequence[uuid.UUID], list_url: str | None = None
) -> str:
    """Queue ``action`` on ``ids`` as a job; returns the job's id. ``list_url``: where its page links back."""
    from saas.jobs import enqueue_for_tenant

    job_id = uuid.uuid4().hex
    tenant_id = session.tenant.id
    base = {"action": action.action, "record_type": action.record_type.table, "list_url": list_url}
    _save_progress(tenant_id, job_id, base | BulkReport(total=len(ids)).as_dict() | {"status": "queued"})
    enqueue_for_tenant(
        tenant_id, "saas.modules.core.bulk.run_job", job_id, action.record_type.table, action.action,
        action.field, None if action.value is None else str(action.value), [str(i) for i in ids],
        str(acting_user_id(session) or ""), list_url,
    )  # fmt: skip
    return job_id


def run_job(
    session: TenantSession,
    job_id: str,
    table: str,
    action_name: str,
    field_name: str | None,
    value: str | None,
    ids: list[str],
    actor_user_id: str,
    list_url: str | None = None,
) -> dict[str, Any]:
    """The job of :func:`start_job`: one transaction per batch, its progress written after each."""
    from saas.modules.switches import enabled_module_keys

    tenant_id = session.tenant.id
    if actor_user_id:
        session.info[ACTOR_KEY] = uuid.UUID(actor_user_id)
    base = {"action": action_name, "record_type": table, "list_url": list_url}
    record_type = registry.record_type(session, table, enabled_module_keys(db.session, tenant_id))
    if record_type is None:  # its module was switched off (or the object deleted) since
        report = BulkReport(total=len(ids))
        _save_progress(tenant_id, job_id, base | report.as_dict() | {"status": "failed"})
        return report.as_dict()
    column = record_type.service().model.__table__.c.get(field_name) if field_name else None
    is_id = column is not None and column.type.python_type is uuid.UUID
    typed: Any = uuid.UUID(value) if value and is_id else value
    action = BulkAction(record_type, action_name, field_name, typed)

    def committed(report: BulkReport) -> None:
        session.commit()
        _save_progress(tenant_id, job_id, base | report.as_dict() | {"status": "running"})

    _save_progress(tenant_id, job_id, base | BulkReport(total=len(ids)).as_dict() | {"status": "running"})
    report = apply(session, action, [uuid.UUID(i) for i in ids], after_batch=committed)
    session.commit()
    db.session.commit()  # the audit entry
    _save_progress(tenant_id, job_id, base | report.as_dict() | {"status": "done"})
    return report.as_dict()


# --- export ---

_HIDDEN_COLUMNS = ("search_vector", "sort_name")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def export_csv(session: TenantSession, record_type: RecordType, ids: Sequence[uuid.UUID]) -> Iterator[str]:
    """The selected records as CSV, their table's own columns, a batch of rows at a time; audited."""
    model: Any = record_type.service().model
    columns = [c for c in model.__table__.columns if c.name not in _HIDDEN_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.name for c in columns])
    action = BulkAction(record_type, "export")
    audit(session, action, BulkReport(total=len(ids), done=len(ids)))
    yield buffer.getvalue()
    for start in range(0, len(ids), BATCH_SIZE):
        buffer.seek(0)
        buffer.truncate()
        batch = ids[start : start + BATCH_SIZE]
        rows = {row.id: row for row in session.execute(select(*columns).where(model.id.in_(batch)))}
        for record_id in batch:
            if record_id in rows:
                writer.writerow([_cell(value) for value in rows[record_id]])
        yield buffer.getvalue()


@dataclass(frozen=True)
class Outcome:
    """A bulk action run within the request (its ``report``) or queued as a job (its ``job_id``)."""

    action: BulkAction
    report: BulkReport | None = None
    job_id: str | None = None


def perform(
    session: TenantSession,
    record_type: RecordType,
    action: str,
    value: Any,
    role: str,
    *,
    ids: Sequence[Any] | None = None,
    query: dict[str, str] | None = None,
    list_url: str | None = None,
) -> Outcome:
    """Check and run a bulk action on a selection (``ids``, or all that ``query`` matches): in the request
    up to ``JOB_THRESHOLD`` records, else as a job. ValidationError: a bad action, value or no selection."""
    checked = checked_action(session, record_type, action, value, role)
    selected = selected_ids(session, record_type, ids=ids, query=query)
    if not selected:
        raise ValidationError("Nothing selected.", {"ids": ["Select at least one record of this workspace."]})
    if len(selected) > JOB_THRESHOLD:
        return Outcome(checked, job_id=start_job(session, checked, selected, list_url))
    return Outcome(checked, report=apply(session, checked, selected))
