"""CSV import of records of any importable type: upload, column mapping, dry run, then a background job.

What can be imported comes from the registry: a record type with an ``import_target`` (contacts and
accounts here, leads from the sales module) and every custom object of the workspace. Rows are validated
by the same schemas as the API and the forms and deduplicated by the target's key (email for people, the
domain or name for accounts, the name for a custom object's records) against the tenant's rows and within
the file. The workspace's custom fields of the record type are fields of the import too: mapped,
validated by their type, defaults filled in. The job commits a batch of rows together with how far it
got, so a crash resumes after the last committed row and imports nothing twice.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import marshmallow
from flask import current_app
from marshmallow import fields as schema_fields
from marshmallow import validate
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import Select, Table, Text, any_, bindparam, cast, delete, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.elements import ColumnElement

from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_, translate
from saas.modules.core import custom_fields, objects, phones
from saas.modules.core.activities import acting_user_id
from saas.modules.core.models import Account, Contact, CustomField, CustomObject, ImportJob, ImportRowError
from saas.modules.core.schemas import AccountIn, CleanInput, ContactIn
from saas.modules.registry import DataSubject, RecordType, registry
from saas.modules.switches import enabled_module_keys
from saas.spreadsheet import csv_line
from saas.sql import quote_identifier, quote_identifiers

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 8 * 1024 * 1024
BATCH_SIZE = 1_000
PREVIEW_ROWS = 10
DRY_RUN_ROWS = 5_000
"""A dry run counts outcomes over this many rows at most, so that it answers within a request."""
DELIMITERS = (",", ";", "\t", "|")
TOO_LARGE = N_(
    "The file is larger than the %(megabytes)s MB an import takes; split it into smaller files.",
    megabytes=MAX_FILE_BYTES >> 20,
)
JOB_TIMEOUT_SECONDS = 3_600
RUN_IMPORT = "saas.modules.core.imports.run_import"
STALLED_SECONDS = 120
"""An import queued or running with no committed batch for this long is resumed (IMPORT_STALLED_SECONDS)."""
OWNER = "owner_user_id"
"""Records of a table with this column (leads, custom objects' records) are owned by the uploader."""


@dataclass(frozen=True)
class ImportField:
    name: str
    label: str
    headers: tuple[str, ...] = ()
    """Header names (besides the label and the field's own name) that suggest this field."""


def _no_rule(record: dict[str, Any]) -> dict[str, list[str]]:
    return {}


@dataclass(frozen=True)
class ImportTarget:
    """What an import of one kind of record needs: fields, the validating schema, the dedupe rule.

    A module declares one per importable record type (``RecordType.import_target``); custom objects get
    theirs from their definition (:func:`object_target`)."""

    entity: str
    """The record type's table, also the job's ``entity``."""
    table: Table
    schema: type[marshmallow.Schema]
    fields: tuple[ImportField, ...]
    required: tuple[str, ...]
    dedupe_key: Callable[[dict[str, Any]], str | None]
    existing_keys: Callable[[TenantSession, set[str]], set[str]]
    row_rule: Callable[[dict[str, Any]], dict[str, list[str]]] = _no_rule
    """A service rule a validated row must also meet; returns errors by field."""
    noun: str = ""
    """What the records are called in messages (``vehicles``); empty: the table's name."""
    custom: tuple[CustomField, ...] = ()
    """The workspace's custom fields of the record type; ``fields`` lists them too, by column name."""
    phone_region: str | None = None
    """The workspace's default phone region: a row's phone is stored in E.164, read in it."""

    @property
    def named(self) -> str:
        return self.noun or self.entity

    @property
    def owned(self) -> bool:
        """Whether imported records get an owner: the member who uploaded the file."""
        return OWNER in self.table.c


def any_of(values: set[str]) -> ColumnElement[Any]:
    # One array parameter instead of a thousand: cheaper to send, compile and plan than IN (...).
    return any_(bindparam("keys", sorted(values), type_=ARRAY(Text)))


def email_key(record: dict[str, Any]) -> str | None:
    """The dedupe key of a person (contact, lead): the email, case-insensitively."""
    return record["email"].lower() if record.get("email") else None


def existing_emails(column: Any) -> Callable[[TenantSession, set[str]], set[str]]:
    """Of a batch's email keys, the ones some record of ``column``'s table has (its lower(email) index)."""

    def existing(session: TenantSession, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        lowered: ColumnElement[str] = func.lower(column)  # served by the lower(email) index
        return set(session.scalars(select(lowered).where(lowered == any_of(keys))))

    return existing


def _account_key(record: dict[str, Any]) -> str | None:
    # The rule conversion matches accounts by: the web domain when there is one, else the name.
    if record.get("domain"):
        return "domain:" + record["domain"].lower()
    return "name:" + record["name"].lower() if record.get("name") else None


def _existing_accounts(session: TenantSession, keys: set[str]) -> set[str]:
    domains = {key.split(":", 1)[1] for key in keys if key.startswith("domain:")}
    names = {key.split(":", 1)[1] for key in keys if key.startswith("name:")}
    found: set[str] = set()
    if domains:
        lowered = func.lower(Account.domain)
        found |= {"domain:" + d for d in session.scalars(select(lowered).where(lowered == any_of(domains)))}
    if names:
        named = select(Account.sort_name).where(Account.sort_name == any_of(names))
        found |= {"name:" + n for n in session.scalars(named)}
    return found


PERSON_FIELDS = (
    ImportField("first_name", "First name", ("first", "given name", "forename", "vorname")),
    ImportField("last_name", "Last name", ("last", "surname", "family name", "nachname")),
    ImportField("email", "Email", ("e-mail", "email address", "e-mail address", "mail")),
    ImportField("phone", "Phone", ("telephone", "tel", "phone number", "mobile")),
)
"""The fields every kind of person has (contacts, leads), with the headers files name them by."""
TITLE_FIELD = ImportField("title", "Job title", ("title", "position", "role"))
NOTES_FIELD = ImportField("notes", "Notes", ("note", "comments", "description"))

CONTACTS = ImportTarget(
    entity="contacts",
    table=Contact.__table__,
    schema=ContactIn,
    fields=(*PERSON_FIELDS, TITLE_FIELD, NOTES_FIELD),
    required=("email",),
    dedupe_key=email_key,
    existing_keys=existing_emails(Contact.email),
)
ACCOUNTS = ImportTarget(
    entity="accounts",
    table=Account.__table__,
    schema=AccountIn,
    fields=(
        ImportField("name", "Name", ("account name", "company", "company name", "organisation")),
        ImportField("domain", "Web domain", ("website", "web", "url", "domain")),
        ImportField("industry", "Industry", ("sector",)),
        ImportField("phone", "Phone", ("telephone", "tel", "phone number")),
        NOTES_FIELD,
    ),
    required=("name",),
    dedupe_key=_account_key,
    existing_keys=_existing_accounts,
)


class ObjectRecordImportIn(CleanInput):
    """A custom object's record in an import: its name (custom fields are checked by their own types)."""

    name = schema_fields.String(required=True, validate=validate.Length(min=1, max=255))


def _name_key(record: dict[str, Any]) -> str | None:
    return record["name"].lower() if record.get("name") else None


def _existing_names(model: Any) -> Callable[[TenantSession, set[str]], set[str]]:
    def existing(session: TenantSession, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        # sort_name is lower(name), kept by PostgreSQL and indexed: the same key as the file's.
        return set(session.scalars(select(model.sort_name).where(model.sort_name == any_of(keys))))

    return existing


def object_target(definition: CustomObject) -> ImportTarget:
    """The import of a custom object's records: the name (labelled as the object labels it), required and
    matched case-insensitively to find duplicates; its custom fields are added like every target's."""
    model: Any = objects.record_model(definition.table_name)
    return ImportTarget(
        entity=definition.table_name,
        table=model.__table__,
        schema=ObjectRecordImportIn,
        fields=(ImportField("name", definition.name_label, ("name", definition.singular)),),
        required=("name",),
        dedupe_key=_name_key,
        existing_keys=_existing_names(model),
        noun=definition.plural.lower(),
    )


def importable(session: TenantSession) -> list[RecordType]:
    """The record types this workspace can import into now: of its enabled modules, and its objects."""
    enabled = enabled_module_keys(db.session, session.tenant.id)
    return [t for t in registry.record_types(session, enabled) if _importable(t)]


def _importable(record_type: RecordType) -> bool:
    return record_type.import_target is not None or objects.is_object_table(record_type.table)


def import_target(session: TenantSession, entity: str) -> ImportTarget:
    """What an import of ``entity`` takes in this workspace: the record's fields and its custom fields."""
    choices = importable(session)
    record_type = next((t for t in choices if t.table == entity), None)
    if record_type is None:
        raise _no_target(session, entity, choices)
    target = _base_target(session, record_type)
    definitions = tuple(custom_fields.list_fields(session, entity))
    target = replace(target, phone_region=phones.phone_region(session))
    if not definitions:
        return target
    return replace(
        target,
        fields=(
            *target.fields,
            *(ImportField(d.column_name, d.label, (custom_fields.key_of(d),)) for d in definitions),
        ),
        required=(
            *target.required,
            *(d.column_name for d in definitions if d.required and d.default_value is None),
        ),
        custom=definitions,
    )


def _base_target(session: TenantSession, record_type: RecordType) -> ImportTarget:
    if record_type.import_target is not None:
        return record_type.import_target()
    definition = objects.object_for_table(session, record_type.table)
    if definition is None:  # record types list live objects only
        raise NotFound(
            N_("This workspace has no custom object stored in %(table)s.", table=repr(record_type.table))
        )
    return object_target(definition)


def _no_target(session: TenantSession, entity: str, choices: list[RecordType]) -> ValidationError:
    """Why ``entity`` cannot be imported: its module is switched off, or nothing of that name imports."""
    known = registry.record_type(session, entity)
    module = registry.get(known.module) if known is not None and _importable(known) else None
    if known is not None and module is not None:
        message = N_(
            "%(records)s cannot be imported while the %(module)s module is switched off for this workspace.",
            records=known.plural,
            module=module.title,
            translated=("records", "module"),
        )
        return ValidationError(message, {"entity": [message]})
    return ValidationError(
        "Choose what to import.",
        {"entity": [N_("One of: %(choices)s.", choices=", ".join(t.table for t in choices))]},
    )


# --- reading the file -------------------------------------------------------------------------------


def _file_error(message: str) -> ValidationError:
    return ValidationError(message, {"file": [message]})


def decode_csv(content: bytes) -> str:
    """The file's text; refuses empty files, other encodings than UTF-8 (a BOM is fine) and binaries."""
    if not content.strip():
        raise _file_error("The file is empty.")
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _file_error(
            N_(
                "The file is not UTF-8 text (byte %(byte)s at position %(position)s). Save it as “CSV UTF-8” "
                "and upload it again.",
                byte=format(error.object[error.start], "#04x"),
                position=error.start,
            )
        ) from error
    if "\x00" in decoded:
        raise _file_error("The file contains NUL bytes: it is not a CSV text file (a spreadsheet, perhaps?).")
    return decoded


def detect_delimiter(header_line: str) -> str:
    """The most frequent of the usual separators in the header line; a comma if there is none."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _normalise(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


def suggest_columns(target: ImportTarget, headers: list[str]) -> dict[str, int]:
    """Field name → column index, for the headers that name a field (each column used once)."""
    by_name = {}
    for index, header in enumerate(headers):
        by_name.setdefault(_normalise(header), index)
    suggested: dict[str, int] = {}
    taken: set[int] = set()
    for f in target.fields:
        for candidate in (f.name, f.label, *f.headers):
            index = by_name.get(_normalise(candidate))
            if index is not None and index not in taken:
                suggested[f.name] = index
                taken.add(index)
                break
    return suggested


@dataclass
class CsvRows:
    """The data rows of a decoded file as (row number, values); the header is row 1, blank rows skipped."""

    text: str
    delimiter: str

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader()
        try:
            for row_number, values in enumerate(reader, start=1):
                if row_number > 1 and any(value.strip() for value in values):
                    yield row_number, values
        except csv.Error as error:
            raise _file_error(
                N_("The file is not valid CSV near row %(row)s: %(error)s.", row=reader.line_num, error=error)
            ) from error

    def _reader(self) -> Any:
        # strict: a stray quote is reported, not silently merged with the rows after it.
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)

    def headers(self) -> list[str]:
        reader = self._reader()
        try:
            return [header.strip() for header in next(reader, [])]
        except csv.Error as error:
            raise _file_error(
                N_("The file's header row is not valid CSV: %(error)s.", error=error)
            ) from error


def _rows_of(job: ImportJob) -> CsvRows:
    return CsvRows(decode_csv(job.content), job.mapping["delimiter"])


# --- creating and configuring a job -----------------------------------------------------------------


def missing_required(target: ImportTarget, columns: dict[str, int]) -> list[str]:
    return [name for name in target.required if name not in columns]


def missing_columns_error(target: ImportTarget, missing: list[str], headers: list[str]) -> ValidationError:
    labels = {f.name: f.label for f in target.fields}
    names = ", ".join(labels[name] for name in missing)
    values = {"fields": names, "records": target.named}
    if len(headers) == 1:
        values["header"] = headers[0][:60]
        message = (
            N_(
                "Map a column to %(fields)s: it is required to import %(records)s (it is how duplicates are "
                "found). Only one column was found (header “%(header)s”): separate columns with commas, "
                "semicolons or tabs.",
                **values,
            )
            if "email" in missing
            else N_(
                "Map a column to %(fields)s: it is required to import %(records)s. Only one column was found "
                "(header “%(header)s”): separate columns with commas, semicolons or tabs.",
                **values,
            )
        )
    elif "email" in missing:
        message = N_(
            "Map a column to %(fields)s: it is required to import %(records)s (it is how duplicates are "
            "found).",
            **values,
        )
    else:
        message = N_("Map a column to %(fields)s: it is required to import %(records)s.", **values)
    return ValidationError(message, {name: ["Required."] for name in missing})


def create_import(
    session: TenantSession,
    *,
    entity: str,
    filename: str,
    content: bytes,
    columns: dict[str, Any] | None = None,
) -> ImportJob:
    """Check and store an uploaded file with a suggested (or the given) column mapping. Never commits."""
    target = import_target(session, entity)
    created_by_user_id = acting_user_id(session)
    if len(content) > MAX_FILE_BYTES:
        raise _file_error(TOO_LARGE)
    decoded = decode_csv(content)
    rows = CsvRows(decoded, detect_delimiter(decoded.split("\n", 1)[0]))
    headers = rows.headers()
    if not any(headers):
        raise _file_error("The first row must name the columns; it is blank.")
    total = sum(1 for _ in rows)
    if total == 0:
        raise _file_error("The file has a header row but no data rows.")
    job = ImportJob(
        entity=target.entity,
        filename=(filename or "upload.csv")[-255:],
        content=content,
        status="pending",
        total_rows=total,
        created_by_user_id=created_by_user_id,
        mapping={"delimiter": rows.delimiter, "headers": headers, "columns": {}},
    )
    job.mapping["columns"] = (
        suggest_columns(target, headers) if columns is None else _checked_columns(target, headers, columns)
    )
    if target.owned:
        job.mapping[OWNER] = str(created_by_user_id) if created_by_user_id else None
    session.add(job)
    session.flush()
    return job


def _checked_columns(target: ImportTarget, headers: list[str], columns: dict[str, Any]) -> dict[str, int]:
    known = {f.name for f in target.fields}
    errors: dict[str, list[str]] = {}
    checked: dict[str, int] = {}
    for name, index in columns.items():
        if name not in known:
            errors[name] = [
                N_(
                    "Not a field of %(records)s; one of %(fields)s.",
                    records=target.named,
                    fields=", ".join(sorted(known)),
                )
            ]
        elif index is None or index == "":
            continue
        elif isinstance(index, str) and index in headers:  # a header name
            checked[name] = headers.index(index)
        elif isinstance(index, int | str) and str(index).isdigit() and int(index) < len(headers):
            checked[name] = int(index)
        else:
            errors[name] = [N_("No column %(column)s in the file.", column=repr(index))]
    if errors:
        raise ValidationError("The column mapping does not fit the file.", errors)
    missing = missing_required(target, checked)
    if missing:
        raise missing_columns_error(target, missing, headers)
    return checked


def mapping_problem(session: TenantSession, job: ImportJob) -> ValidationError | None:
    """What keeps the job's current mapping from running, if anything."""
    target = import_target(session, job.entity)
    missing = missing_required(target, job.mapping["columns"])
    return missing_columns_error(target, missing, job.mapping["headers"]) if missing else None


IMPORT_STATUSES = {
    "pending": N_("waiting for your choices"),
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
}
"""What an import's status (a CSV import's or another CRM's) reads as on its pages."""


MAPPING_FIXED = {
    "queued": N_("This import is queued; its mapping can no longer change."),
    "running": N_("This import is running; its mapping can no longer change."),
    "done": N_("This import is done; its mapping can no longer change."),
    "failed": N_("This import failed; its mapping can no longer change."),
}
ALREADY_STARTED = {
    "queued": N_("This import is queued already."),
    "running": N_("This import is running already."),
    "done": N_("This import is done already."),
}
"""Why an import in each status refuses a change or a start (a CSV import's or another CRM's): a whole
sentence each, as the status word declines with its sentence in other languages."""


def import_status_label(status: str) -> str:
    """An import's status in the reader's language."""
    return translate(IMPORT_STATUSES.get(status, status))


def progress(job: ImportJob) -> dict[str, Any]:
    """The figures a status page shows and polls."""
    return {
        "id": str(job.id),
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "imported_rows": job.imported_rows,
        "duplicate_rows": job.duplicate_rows,
        "error_rows": job.error_rows,
        "message": job.message,
    }


def get_import(session: TenantSession, job_id: uuid.UUID, *, for_update: bool = False) -> ImportJob:
    """The import, without its file (loaded when first used: progress polls must not fetch megabytes)."""
    query = select(ImportJob).options(defer(ImportJob.content)).where(ImportJob.id == job_id)
    if for_update:  # locked and re-read: another run of the same job may have moved on
        query = query.with_for_update().execution_options(populate_existing=True)
    job = session.scalar(query)
    if job is None:
        raise NotFound(N_("No import with id %(id)s.", id=job_id))
    return job


def list_imports(session: TenantSession, limit: int = 50) -> list[ImportJob]:
    query = select(ImportJob).options(defer(ImportJob.content)).order_by(ImportJob.created_at.desc())
    return list(session.scalars(query.limit(limit)))


def set_columns(session: TenantSession, job_id: uuid.UUID, columns: dict[str, Any]) -> ImportJob:
    """Replace the mapping of an import that has not started; refuses a mapping without required fields."""
    job = get_import(session, job_id)
    if job.status != "pending":
        raise Conflict(MAPPING_FIXED.get(job.status, MAPPING_FIXED["running"]))
    target = import_target(session, job.entity)
    job.mapping = {**job.mapping, "columns": _checked_columns(target, job.mapping["headers"], columns)}
    session.flush()
    return job


def start_import(session: TenantSession, job_id: uuid.UUID) -> ImportJob:
    """Queue the import (or resume a failed or stalled one) once this transaction commits."""
    job = get_import(session, job_id, for_update=True)
    if job.status not in ("pending", "failed") and not is_stalled(job):
        raise Conflict(ALREADY_STARTED.get(job.status, ALREADY_STARTED["running"]))
    target = import_target(session, job.entity)
    missing = missing_required(target, job.mapping["columns"])
    if missing:
        raise missing_columns_error(target, missing, job.mapping["headers"])
    job.status = "queued"
    job.message = None
    job.heartbeat_at = datetime.now(UTC)
    session.flush()
    _enqueue_after_commit(session, job.id)
    return job


def is_stalled(job: ImportJob, stalled_after: float | None = None) -> bool:
    """Queued or running with no sign of life for ``stalled_after`` seconds: its worker died or its
    queue entry was lost with Redis. A live run beats at every batch, which takes seconds at most."""
    if job.status not in ("queued", "running"):
        return False
    if stalled_after is None:
        stalled_after = float(current_app.config.get("IMPORT_STALLED_SECONDS", STALLED_SECONDS))
    last_sign = job.heartbeat_at or job.created_at
    return last_sign < datetime.now(UTC) - timedelta(seconds=stalled_after)


def resume_stalled_imports(session: TenantSession, stalled_after: float | None = None) -> list[uuid.UUID]:
    """Queue every stalled import again; it resumes after its last committed batch (each row once).

    Safe even if the old run is alive after all: runs of one import take turns batch by batch under a
    lock and skip what another committed."""
    candidates = session.scalars(
        select(ImportJob).where(ImportJob.status.in_(("queued", "running"))).with_for_update(skip_locked=True)
    ).all()
    resumed = []
    for job in candidates:
        if is_stalled(job, stalled_after):
            job.heartbeat_at = datetime.now(UTC)
            resumed.append(job.id)
            _enqueue_after_commit(session, job.id)
    session.flush()
    return resumed


def resume_all_stalled_imports() -> dict[str, Any]:
    """Periodic job: :func:`resume_stalled_imports` in every writable tenant."""
    from saas.db import tenant_session
    from saas.jobs.fanout import for_each_tenant

    def resume(ref) -> list[str]:
        with tenant_session(ref) as session:
            return [str(job_id) for job_id in resume_stalled_imports(session)]

    report = for_each_tenant("resume_all_stalled_imports", resume)
    return {**report.as_dict(), "resumed": sum(len(ids) for ids in report.results.values())}


def _enqueue_after_commit(session: TenantSession, job_id: uuid.UUID) -> None:
    # The worker must find the job committed; and a rolled-back request must queue nothing.
    from saas.jobs import enqueue_for_tenant

    tenant_id = session.tenant.id

    def enqueue(_session: TenantSession) -> None:
        try:
            enqueue_for_tenant(tenant_id, RUN_IMPORT, str(job_id), job_timeout=JOB_TIMEOUT_SECONDS)
        except RedisConnectionError:
            # Redis is down: the import is committed as queued, and the stalled sweep queues it again
            # once Redis is back. Raising here (after the commit) would answer 500 for a started import.
            log.warning("import %s committed but not queued: Redis unavailable", job_id)

    event.listen(session, "after_commit", enqueue, once=True)


# --- validating and deduplicating rows ----------------------------------------------------------------


@dataclass
class RowOutcome:
    row_number: int
    values: dict[str, str]
    outcome: str  # import, duplicate, error
    reason: str = ""


@dataclass
class Batch:
    """What became of a batch of rows: records to insert, duplicates, and errors with their rows."""

    records: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    error_rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)


def _raw(headers: list[str], values: list[str]) -> dict[str, str]:
    return {(headers[i] if i < len(headers) else f"column {i + 1}"): v[:1_000] for i, v in enumerate(values)}


def _row_errors(row_number: int, messages: dict[str, Any], header_of: dict[str, str]) -> list[dict[str, Any]]:
    """One error per field, named by the file's own column header."""
    errors = []
    for name, reasons in messages.items():
        flat = reasons if isinstance(reasons, list) else [reasons]
        column = header_of.get(name) or (None if name == "_schema" else name)
        errors.append(
            {
                "row_number": row_number,
                "column": column[:100] if column else None,
                "reason": " ".join(str(r) for r in flat)[:500],
            }
        )
    return errors


Validated = tuple[dict[str, str], dict[str, Any] | None, dict[str, Any]]
"""A row's mapped values, its validated record (None if refused) and its errors by field."""


def _validate_row(
    target: ImportTarget,
    schema: marshmallow.Schema,
    load_custom: Callable[[dict[str, str]], tuple[dict[str, Any], dict[str, list[str]]]],
    values: list[str],
    headers: list[str],
    columns: dict[str, int],
) -> Validated:
    """(mapped values, validated record or None, errors by field) of one row."""
    # An empty cell is an absent value, so that fields with a default (a lead's status) get it.
    mapped = {name: values[i] for name, i in columns.items() if i < len(values) and values[i].strip()}
    if len(values) > len(headers):
        return (
            mapped,
            None,
            {
                "_schema": [
                    N_(
                        "The row has %(values)s values; the header has %(headers)s.",
                        values=len(values),
                        headers=len(headers),
                    )
                ]
            },
        )
    plain = {name: value for name, value in mapped.items() if not name.startswith(custom_fields.PREFIX)}
    custom, errors = load_custom(mapped)
    try:
        record = phones.normalise_phone_values(schema.load(plain), target.phone_region)
    except marshmallow.ValidationError as error:
        return mapped, None, error.normalized_messages() | errors
    except ValidationError as error:  # a phone that is no number: this row's error, not the import's
        return mapped, None, error.errors | errors
    if errors:
        return mapped, None, errors
    record |= custom
    errors = target.row_rule(record)
    if not errors and target.dedupe_key(record) is None:
        errors = {
            target.required[0]: [
                N_("Required: %(records)s are matched by it to find duplicates.", records=target.named)
            ]
        }
    return mapped, None if errors else record, errors


def validate_rows(
    target: ImportTarget, headers: list[str], columns: dict[str, int], rows: list[tuple[int, list[str]]]
) -> list[Validated]:
    """Each row checked by the target's schema and custom fields: no database, so it may run in a thread."""
    # Built once per batch, not per row: the schema, and the value check of each custom field.
    schema = target.schema()
    load_custom = custom_fields.text_values_loader(target.custom)
    return [_validate_row(target, schema, load_custom, values, headers, columns) for _, values in rows]


def classify_rows(
    session: TenantSession,
    target: ImportTarget,
    job: ImportJob,
    rows: list[tuple[int, list[str]]],
    seen: set[str],
    *,
    keep_outcomes: int = 0,
    validated: list[Validated] | None = None,
) -> Batch:
    """Validate a batch with the target's schema and sort it into new records, duplicates and errors.

    ``seen`` holds the keys taken earlier in this file and gains the batch's new ones; ``keep_outcomes``
    rows keep what became of them, for a preview; ``validated`` is ``validate_rows`` of these rows if
    already done.
    """
    headers: list[str] = job.mapping["headers"]
    columns: dict[str, int] = job.mapping["columns"]
    header_of = {name: headers[index] for name, index in columns.items()}
    if validated is None:
        validated = validate_rows(target, headers, columns, rows)
    batch = Batch()

    def outcome(row_number: int, mapped: dict[str, str], kind: str, reason: str = "") -> None:
        if len(batch.outcomes) < keep_outcomes:
            batch.outcomes.append(RowOutcome(row_number, mapped, kind, reason))

    def reject(row_number: int, values: list[str], mapped: dict[str, str], errors: dict[str, Any]) -> None:
        batch.error_rows += 1
        row_errors = _row_errors(row_number, errors, header_of)
        raw = _raw(headers, values)
        batch.errors += [error | {"raw": raw} for error in row_errors]
        outcome(
            row_number,
            mapped,
            "error",
            "; ".join(f"{e['column'] or 'row'}: {e['reason']}" for e in row_errors),
        )

    valid: list[tuple[int, list[str], dict[str, str], dict[str, Any]]] = []
    for (row_number, values), (mapped, record, errors) in zip(rows, validated, strict=True):
        if record is None:
            reject(row_number, values, mapped, errors)
        else:
            valid.append((row_number, values, mapped, record))
    # Rules that need the database, a query per batch: references to records that exist, people who may
    # not come back, then duplicates.
    dangling = custom_fields.reference_errors(session, target.custom, [record for *_, record in valid])
    refused = registry.refused_people(
        session, {record["email"] for *_, record in valid if record.get("email")}
    )
    admitted: list[tuple[int, dict[str, str], dict[str, Any], str]] = []
    for (row_number, values, mapped, record), reference_errors in zip(valid, dangling, strict=True):
        if reference_errors:
            reject(row_number, values, mapped, reference_errors)
        elif record.get("email") in refused:
            reject(row_number, values, mapped, {"email": [refused[record["email"]]]})
        else:
            admitted.append((row_number, mapped, record, target.dedupe_key(record) or ""))
    existing = target.existing_keys(session, {key for *_, key in admitted})
    for row_number, mapped, record, key in admitted:
        if key in existing or key in seen:
            batch.duplicates += 1
            outcome(
                row_number,
                mapped,
                "duplicate",
                "already in this workspace" if key in existing else "earlier in this file",
            )
        else:
            seen.add(key)
            batch.records.append(record)
            outcome(row_number, mapped, "import")
    batch.outcomes.sort(key=lambda row: row.row_number)
    return batch


def chunks(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


@dataclass
class Preview:
    rows: list[RowOutcome]
    checked_rows: int
    would_import: int
    duplicates: int
    errors: int


def preview_import(session: TenantSession, job_id: uuid.UUID) -> Preview:
    """A dry run: what the import would do with the first rows, writing nothing."""
    job = get_import(session, job_id)
    target = import_target(session, job.entity)
    seen: set[str] = set()
    preview = Preview([], 0, 0, 0, 0)
    for chunk in chunks(islice(iter(_rows_of(job)), DRY_RUN_ROWS), BATCH_SIZE):
        keep = PREVIEW_ROWS - len(preview.rows)
        batch = classify_rows(session, target, job, chunk, seen, keep_outcomes=keep)
        preview.rows += batch.outcomes
        preview.checked_rows += len(chunk)
        preview.would_import += len(batch.records)
        preview.duplicates += batch.duplicates
        preview.errors += batch.error_rows
    return preview


# --- the job ------------------------------------------------------------------------------------------


def insert_records(
    session: TenantSession, target: ImportTarget, job: ImportJob, records: list[dict[str, Any]]
) -> list[uuid.UUID]:
    """Bulk-insert validated records with COPY, in the session's transaction (tenant role and schema);
    returns their new ids in order (a vendor import remembers which record each of its rows became)."""
    if not records:
        return []
    names = [f.name for f in target.fields]
    # The uploader owns the records, unless the target carries each row's owner (a vendor's export).
    constants = _owner_of(job) if target.owned and OWNER not in names else {}
    fixed = list(constants.values())
    ids = _new_ids(len(records))
    rows = (
        [new_id, *[record.get(name) for name in names], *fixed]
        for new_id, record in zip(ids, records, strict=True)
    )
    copy_rows(session, target.table.name, ["id", *names, *constants], rows)
    return ids


def copy_rows(session: TenantSession, table: str, columns: list[str], rows: Iterable[list[Any]]) -> None:
    """``COPY`` rows into one of the tenant's tables, in the session's transaction: many times faster than
    an INSERT per row, for imports of thousands."""
    # The tenant's schema by name: COPY is raw SQL, which schema_translate_map does not reach.
    qualified = f"{quote_identifier(session.tenant.schema_name)}.{quote_identifier(table)}"
    raw = session.connection().connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {qualified} ({quote_identifiers(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _owner_of(job: ImportJob) -> dict[str, Any]:
    owner = job.mapping.get(OWNER)
    return {OWNER: uuid.UUID(owner) if owner else None}


def _new_ids(count: int) -> list[uuid.UUID]:
    # What uuid.uuid4() makes, from one read of the system's random source instead of one per row.
    random = os.urandom(16 * count)
    return [uuid.UUID(bytes=random[i : i + 16], version=4) for i in range(0, 16 * count, 16)]


def _lock_entity(session: TenantSession, target: ImportTarget) -> None:
    # Two imports into the same table take turns per batch, so neither misses the other's duplicates.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"{session.tenant.id}:import:{target.entity}"},
    )


@dataclass
class _Ahead:
    """The batch after the one being written: its first row's offset among the data rows, its rows, and
    their validation under way."""

    start: int
    chunk: list[tuple[int, list[str]]]
    validated: Future[list[Validated]]


def _announce_finished(session: TenantSession, job: ImportJob) -> None:
    """``import.finished`` to the modules' listeners (whoever started it is told), not to webhooks."""
    payload = {
        "id": job.id, "filename": job.filename, "entity": job.entity, "status": job.status,
        "imported_rows": job.imported_rows, "error_rows": job.error_rows,
        "created_by_user_id": job.created_by_user_id,
        "page": {"endpoint": "core.show_import", "slug": session.tenant.slug, "job_id": str(job.id)},
    }  # fmt: skip
    registry.announce(session, "import.finished", payload, {})


def run_import(session: TenantSession, job_id: str, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """The background job: import the rows after the last committed one, a batch per transaction."""
    job_uuid = uuid.UUID(job_id)
    job = get_import(session, job_uuid)
    if job.status not in ("queued", "running"):
        return {"status": job.status, "skipped": True}
    try:
        target = import_target(session, job.entity)
    except ValidationError as error:  # its module switched off or its object deleted since it was queued
        job.status, job.finished_at, job.message = "failed", datetime.now(UTC), error.detail
        session.commit()
        return progress(job)
    if target.owned:
        owner = job.mapping.get(OWNER)
        if owner and not is_member(db.session, session.tenant.id, uuid.UUID(owner)):
            job.mapping = {**job.mapping, OWNER: None}  # its uploader has left the workspace
    job.status = "running"
    job.heartbeat_at = datetime.now(UTC)
    session.commit()
    rows = iter(_rows_of(job))
    position = 0  # data rows taken from ``rows``
    ahead: _Ahead | None = None
    try:
        # The next batch is validated in a thread while this one meets the database (dedupe queries, COPY,
        # commit): the schema's Python work overlaps PostgreSQL's. Only validation runs ahead, no writes;
        # leaving the block waits for it, so the session is never rolled back under it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-validation") as validator:
            while True:
                _lock_entity(session, target)
                job = get_import(session, job_uuid, for_update=True)
                if job.status != "running":
                    break  # finished or stopped by another run of the same job
                validated: list[Validated] | None = None
                if ahead is not None and ahead.start == job.processed_rows:
                    chunk, validated = ahead.chunk, ahead.validated.result()
                else:  # the first batch, or another run of the same job moved on
                    if job.processed_rows < position:
                        rows, position = iter(_rows_of(job)), 0
                    for _ in range(job.processed_rows - position):  # resume: skip what is committed
                        next(rows, None)
                    chunk = list(islice(rows, batch_size))
                    position = job.processed_rows + len(chunk)
                if not chunk:
                    job.status, job.finished_at = "done", datetime.now(UTC)
                    job.message = (
                        f"{job.imported_rows} imported, {job.duplicate_rows} duplicates skipped, "
                        f"{job.error_rows} rows with errors."
                    )
                    _announce_finished(session, job)
                    session.commit()
                    break
                following = list(islice(rows, batch_size))
                headers, columns = job.mapping["headers"], job.mapping["columns"]
                ahead = _Ahead(
                    position, following, validator.submit(validate_rows, target, headers, columns, following)
                )
                position += len(following)
                batch = classify_rows(session, target, job, chunk, set(), validated=validated)
                insert_records(session, target, job, batch.records)
                if batch.errors:
                    session.execute(
                        ImportRowError.__table__.insert(), [e | {"job_id": job.id} for e in batch.errors]
                    )
                job.processed_rows += len(chunk)
                job.imported_rows += len(batch.records)
                job.duplicate_rows += batch.duplicates
                job.error_rows += batch.error_rows
                job.heartbeat_at = datetime.now(UTC)
                session.commit()
    except Exception as error:
        session.rollback()
        failed = get_import(session, job_uuid)
        failed.status = "failed"
        failed.message = (
            f"Stopped after row {failed.processed_rows} of {failed.total_rows}: {str(error)[:300]} "
            "The rows before it are imported; resume to continue from there."
        )
        session.commit()
        raise
    return progress(job)


def row_errors_query(job_id: uuid.UUID) -> Select:
    return (
        select(ImportRowError)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row_number, ImportRowError.column)
    )


def error_report(session: TenantSession, job_id: uuid.UUID) -> tuple[str, Iterator[str]]:
    """A file name and the CSV lines of the job's row errors: row, column, reason, the row's values."""
    job = get_import(session, job_id)
    headers: list[str] = job.mapping.get("headers", [])
    errors = session.scalars(row_errors_query(job.id)).all()

    def lines() -> Iterator[str]:
        yield csv_line(["row", "column", "reason", *headers])
        for error in errors:
            yield csv_line(
                [error.row_number, error.column or "", error.reason, *(error.raw.get(h, "") for h in headers)]
            )

    return f"import-{job.id}-errors.csv", lines()


# --- privacy ----------------------------------------------------------------------------------------


def erase_from_imports(session: Session, subject: DataSubject) -> dict[str, int]:
    """A person's erasure in uploaded files (core's privacy hook): the files keep their other rows; only
    the lines holding the person's email go, with the row errors reported about them."""
    if not subject.email:
        return {"import_lines": 0, "import_row_errors": 0}
    needle = f"%{subject.email.lower()}%"
    errors = session.execute(
        delete(ImportRowError).where(func.lower(cast(ImportRowError.raw, Text)).like(needle))
    ).rowcount
    email = subject.email.lower().encode()
    lines = 0
    # 'escape' keeps ASCII as is, so the database finds the files that mention the email.
    for job in session.scalars(
        select(ImportJob).where(func.encode(ImportJob.content, "escape").ilike(needle))
    ):
        kept = [line for line in job.content.split(b"\n") if email not in line.lower()]
        lines += job.content.count(b"\n") + 1 - len(kept)
        job.content = b"\n".join(kept)
    session.flush()
    return {"import_lines": lines, "import_row_errors": errors}
