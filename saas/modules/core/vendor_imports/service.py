"""Migration in from another CRM: read its export, show a dry run, then import it as a job.

Built on the CSV import (:mod:`saas.modules.core.imports`): accounts, contacts and leads go through its
validation, deduplication and COPY, batch by batch; deals, tickets and timeline entries through their
record type's service (reached by the registry), each in a savepoint so a refused row refuses only itself.
Every vendor record that became (or matched) one of ours is remembered in ``external_records``: relations
between the vendor's records are resolved through it, and a second run of the same export skips them.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Text, cast, delete, func, select, text
from sqlalchemy.orm import defer

from saas.auth.services import workspace_members
from saas.db import TenantSession, db
from saas.errors import Conflict, NotFound, SaasError, ValidationError
from saas.i18n import N_
from saas.modules.core import custom_fields, imports
from saas.modules.core.activities import acting_user_id, activities
from saas.modules.core.models import Account, ExternalRecord, ImportJob, VendorImport, VendorImportRow
from saas.modules.core.vendor_imports.formats import (
    KINDS_IN_ORDER,
    VENDORS,
    ObjectFormat,
    VendorFormat,
    convert,
    custom_key,
    is_true,
    parse_datetime,
)
from saas.modules.registry import DataSubject, ImportedConsent, RecordType, registry
from saas.modules.switches import enabled_module_keys
from saas.spreadsheet import csv_line

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 500
BATCH_SIZE = imports.BATCH_SIZE
DRY_RUN_ROWS = imports.DRY_RUN_ROWS
"""A dry run looks at this many rows of each file at most, so that it answers within a request."""
SAMPLES = 20
"""Refused rows and duplicates a dry run shows per file."""
RUN_VENDOR_IMPORT = "saas.modules.core.vendor_imports.service.run_vendor_import"
JOB_TIMEOUT_SECONDS = 3_600
BULK_KINDS = ("accounts", "contacts", "leads")
"""Imported through the CSV import's validation, deduplication and COPY; the others through services."""
CHOICES = ("custom", "ignore")
_EMAIL = re.compile(r"[^@\s<>()\"',;]+@[^@\s<>()\"',;]+\.[^@\s<>()\"',;]+")


def _refuse(message: str, problems: dict[str, list[str]] | None = None) -> ValidationError:
    return ValidationError(message, problems or {"file": [message]})


def vendor_format(key: str) -> VendorFormat:
    vendor = VENDORS.get(key)
    if vendor is None:
        raise _refuse(
            "Choose the CRM the export comes from.",
            {"vendor": [N_("One of: %(choices)s.", choices=", ".join(VENDORS))]},
        )
    return vendor


# --- reading the export ---------------------------------------------------------------------------------


@dataclass
class ObjectFile:
    spec: ObjectFormat
    filename: str
    headers: list[str]
    rows: imports.CsvRows
    total: int
    index: dict[str, int]
    """The vendor's column → its position in this file (headers as the vendor writes them)."""

    def value(self, values: list[str], column: str | None) -> str:
        position = self.index.get(column) if column else None
        return values[position].strip() if position is not None and position < len(values) else ""

    def unknown_columns(self) -> list[str]:
        used = self.spec.used_columns()
        return [header for header in self.headers if header and header not in used]


@dataclass
class Bundle:
    vendor: VendorFormat
    files: list[ObjectFile]
    users: dict[str, str] = field(default_factory=dict)
    """The vendor's user id → email, from its users file (owners are matched to members by email)."""

    @property
    def total_rows(self) -> int:
        return sum(f.total for f in self.files)


def pack(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """One ZIP of the uploaded files (a ZIP alone is kept as it is): what an import stores."""
    if not files:
        raise _refuse("Choose the export's files (CSV files, or the ZIP the CRM gave you).")
    if len(files) == 1 and files[0][1][:4] == b"PK\x03\x04":
        return files[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            if content[:4] == b"PK\x03\x04":
                raise _refuse(
                    N_("%(file)s: upload a ZIP on its own, or the CSV files without it.", file=name)
                )
            archive.writestr(name.rsplit("/", 1)[-1] or "upload.csv", content)
    return files[0][0] if len(files) == 1 else "upload.zip", buffer.getvalue()


def read_bundle(vendor: VendorFormat, content: bytes) -> Bundle:
    """The export's object files, checked: refuses (before anything is written) an archive that is not
    one, too large, with nothing of this vendor in it, or a file that is not UTF-8 CSV with its id column."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise _refuse(
            N_(
                "The export is larger than %(megabytes)s MB; export fewer objects at once.",
                megabytes=MAX_UPLOAD_BYTES >> 20,
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = [entry for entry in archive.infolist() if not entry.is_dir()]
    except zipfile.BadZipFile as error:
        raise _refuse("The upload is not a ZIP or CSV file the CRM exported.") from error
    if len(entries) > MAX_ENTRIES or sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise _refuse(
            N_(
                "The archive holds more than %(files)s files or %(megabytes)s MB.",
                files=MAX_ENTRIES,
                megabytes=MAX_UNPACKED_BYTES >> 20,
            )
        )
    problems: dict[str, list[str]] = {}
    files: list[ObjectFile] = []
    users: dict[str, str] = {}
    for entry in entries:
        if not entry.filename.lower().endswith(".csv"):
            continue  # attachments, documents: not records
        spec = vendor.object_for_file(entry.filename)
        is_users = vendor.is_users_file(entry.filename)
        if spec is None and not is_users:
            continue
        try:
            rows = _csv_rows(archive.read(entry))
            headers = rows.headers()
            total = sum(1 for _ in rows)
        except ValidationError as error:
            problems[entry.filename] = [error.detail]
            continue
        index = _header_index(headers)
        if is_users:
            users |= _users(vendor, rows, index)
            continue
        assert spec is not None
        if spec.id_column not in index:
            problems[entry.filename] = [
                N_(
                    "No “%(column)s” column: this is not %(vendor)s's export of %(object)s.",
                    column=spec.id_column,
                    vendor=vendor.title,
                    object=spec.object,
                )
            ]
            continue
        files.append(ObjectFile(spec, entry.filename, headers, rows, total, index))
    if problems:
        raise ValidationError("Some files of the export cannot be read; nothing was imported.", problems)
    if not files:
        names = ", ".join(f"{spec.files[0]}.csv" for spec in vendor.objects)
        raise _refuse(
            N_(
                "None of the files is part of %(vendor)s's export (looked for %(files)s).",
                vendor=vendor.title,
                files=names,
            )
        )
    files.sort(key=lambda f: (KINDS_IN_ORDER.index(f.spec.kind), f.spec.object, f.filename))
    return Bundle(vendor, files, users)


def _csv_rows(content: bytes) -> imports.CsvRows:
    decoded = imports.decode_csv(content)
    rows = imports.CsvRows(decoded, imports.detect_delimiter(decoded.split("\n", 1)[0]))
    if not any(rows.headers()):
        raise _refuse("The first row must name the columns; it is blank.")
    return rows


def _header_index(headers: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        index.setdefault(header, position)
    return index


def _users(vendor: VendorFormat, rows: imports.CsvRows, index: dict[str, int]) -> dict[str, str]:
    assert vendor.users is not None
    id_at, email_at = index.get(vendor.users.id_column), index.get(vendor.users.email_column)
    if id_at is None or email_at is None:
        return {}
    return {
        values[id_at].strip(): values[email_at].strip().lower()
        for _, values in rows
        if len(values) > max(id_at, email_at) and values[email_at].strip()
    }


# --- one row as ours ----------------------------------------------------------------------------------


@dataclass
class MappedRow:
    row_number: int
    external_id: str
    data: dict[str, str]
    custom: dict[str, str]
    """Values of accepted custom columns, by the custom field's key."""
    links: dict[str, list[str]]
    owner_email: str | None
    consents: list[tuple[str, str, datetime | None]]
    values: list[str]
    headers: list[str]

    @property
    def raw(self) -> dict[str, str]:
        """The row as the vendor wrote it, by header (for the report: built only for rows it lists)."""
        return {
            h: (self.values[i] if i < len(self.values) else "")[:1_000]
            for i, h in enumerate(self.headers)
            if h
        }


def map_row(
    bundle: Bundle, file: ObjectFile, row_number: int, values: list[str], custom: dict[str, str]
) -> MappedRow:
    """A vendor row as our fields, its relations (vendor ids), owner and consent choices."""
    spec = file.spec
    data: dict[str, str] = dict(spec.defaults)
    for column, name in spec.columns.items():
        value = file.value(values, column)
        if value:
            name, value = convert(name, value)
            mapped = spec.values.get(name, {})
            data[name] = mapped.get(value.lower(), value) if mapped else value
    links: dict[str, list[str]] = {}
    for link in spec.links:
        cell = file.value(values, link.column)
        if cell:  # ids separated by ; (HubSpot's associations) or ,
            links.setdefault(link.field, []).extend(
                p.strip() for p in cell.replace(",", ";").split(";") if p.strip()
            )
    consents = []
    for flag in spec.consents:
        if is_true(file.value(values, flag.column)):
            at = parse_datetime(file.value(values, flag.at_column)) if flag.at_column else None
            consents.append((flag.purpose, flag.status, at))
    return MappedRow(
        row_number=row_number,
        external_id=file.value(values, spec.id_column),
        data=data,
        custom={
            key: file.value(values, column) for column, key in custom.items() if file.value(values, column)
        },
        links=links,
        owner_email=_owner_email(bundle, file.value(values, spec.owner)),
        consents=consents,
        values=values,
        headers=file.headers,
    )


def _owner_email(bundle: Bundle, value: str) -> str | None:
    if not value:
        return None
    found = _EMAIL.search(value)  # an email, or a name with the email in brackets
    return found.group(0).lower() if found else bundle.users.get(value)


# --- the admin's choices for unknown columns ----------------------------------------------------------


def suggested_choices(bundle: Bundle) -> dict[str, dict[str, str]]:
    """Per file's object, per unknown column: ``custom`` when some row fills it, else ``ignore``."""
    choices: dict[str, dict[str, str]] = {}
    for file in bundle.files:
        unknown = file.unknown_columns()
        filled = dict.fromkeys(unknown, False)
        for _, values in islice(iter(file.rows), DRY_RUN_ROWS):
            for column in unknown:
                filled[column] = filled[column] or bool(file.value(values, column))
        takes = custom_fields.takes_fields(file.spec.kind)
        choices[file.spec.object] = {c: "custom" if filled[c] and takes else "ignore" for c in unknown}
    return choices


def _custom_columns(bundle: Bundle, file: ObjectFile, choices: dict[str, Any]) -> dict[str, str]:
    """The accepted custom columns of a file → their field's key."""
    chosen = choices.get(file.spec.object, {})
    return {
        c: field_key(bundle.vendor, file.spec.kind, c)
        for c in file.unknown_columns()
        if chosen.get(c) == "custom"
    }


def field_key(vendor: VendorFormat, kind: str, column: str) -> str:
    """The custom field's key for a vendor's column; named after the vendor too where the plain key is a
    built-in field of ours (Salesforce's case ``Status`` → ``status_salesforce``)."""
    key = custom_key(column)
    try:
        custom_fields.check_definition(kind, {"key": key, "label": column[:100] or key, "field_type": "text"})
    except ValidationError:
        return f"{key[: 39 - len(vendor.key)]}_{vendor.key}"
    return key


def check_choices(bundle: Bundle, choices: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The admin's edited choices, refused where they name a column or object the export lacks."""
    if not isinstance(choices, dict):
        raise _refuse("Choices are an object of object → column → custom or ignore.", {"choices": ["?"]})
    files = {file.spec.object: file for file in bundle.files}
    errors: dict[str, list[str]] = {}
    checked = suggested_choices(bundle)
    for name, columns in choices.items():
        file = files.get(name)
        if file is None or not isinstance(columns, dict):
            errors[name] = [N_("Not an object of this export; one of %(objects)s.", objects=", ".join(files))]
            continue
        unknown = set(file.unknown_columns())
        for column, choice in columns.items():
            if column not in unknown:
                errors[f"{name}.{column}"] = ["Not a column this import can choose for."]
            elif choice not in CHOICES:
                errors[f"{name}.{column}"] = [N_("One of: %(choices)s.", choices=", ".join(CHOICES))]
            elif choice == "custom" and not custom_fields.takes_fields(file.spec.kind):
                errors[f"{name}.{column}"] = [
                    N_("%(records)s take no custom fields.", records=file.spec.kind)
                ]
            else:
                checked[name][column] = choice
    if errors:
        raise ValidationError("The choices do not fit the export.", errors)
    return checked


# --- where rows go --------------------------------------------------------------------------------------


def _record_type(session: TenantSession, kind: str) -> RecordType | None:
    enabled = enabled_module_keys(db.session, session.tenant.id)
    return registry.record_type(session, kind, enabled)


def _unavailable(session: TenantSession, kind: str) -> str | None:
    """Why records of ``kind`` cannot be imported in this workspace now (its module switched off)."""
    if kind == "activities":
        return None
    if _record_type(session, kind) is None:
        return N_(
            "This workspace does not take %(records)s now (is their module switched off?).", records=kind
        )
    return None


def _bulk_target(session: TenantSession, file: ObjectFile) -> imports.ImportTarget:
    """The CSV import's target of the file's kind, with the relation and owner columns it fills too."""
    target = imports.import_target(session, file.spec.kind)
    names = {f.name for f in target.fields}
    extra = [
        link.field for link in file.spec.links if link.field in target.table.c and link.field not in names
    ]
    if file.spec.owner and imports.OWNER in target.table.c and imports.OWNER not in names:
        extra.append(imports.OWNER)
    return replace(
        target, fields=(*target.fields, *(imports.ImportField(n, n) for n in dict.fromkeys(extra)))
    )


def _pseudo_job(target: imports.ImportTarget, owner: uuid.UUID | None) -> ImportJob:
    # The CSV import reads a job's mapping: these rows come as lists in the target's field order.
    names = [f.name for f in target.fields]
    mapping = {"headers": names, "columns": {n: i for i, n in enumerate(names)}}
    return ImportJob(entity=target.entity, mapping=mapping | {imports.OWNER: str(owner) if owner else None})


def _as_values(target: imports.ImportTarget, row: MappedRow) -> list[str]:
    """The row's values in the target's field order (relations and owners are filled in after validation)."""
    data = row.data
    if row.custom:
        data = data | {f"{custom_fields.PREFIX}{k}": v for k, v in row.custom.items()}
    return [data.get(f.name) or "" for f in target.fields]


# --- relations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    record_type: str
    record_id: uuid.UUID


def known_records(
    session: TenantSession, vendor: str, external_ids: set[str], objects: set[str] | None = None
) -> dict[tuple[str, str], Known]:
    """(object, external id) → our record, of the vendor's records imported before."""
    if not external_ids:
        return {}
    query = select(ExternalRecord).where(
        ExternalRecord.vendor == vendor, ExternalRecord.external_id == imports.any_of(external_ids)
    )
    if objects is not None:
        query = query.where(ExternalRecord.object.in_(sorted(objects)))
    return {(r.object, r.external_id): Known(r.record_type, r.record_id) for r in session.scalars(query)}


def _resolve_links(
    session: TenantSession, bundle: Bundle, file: ObjectFile, rows: list[MappedRow]
) -> list[dict[str, list[Known]]]:
    """Per row, its link fields → our records, found among the vendor's records imported so far."""
    wanted = {ext for row in rows for ids in row.links.values() for ext in ids}
    known = known_records(session, bundle.vendor.key, wanted)
    by_id: dict[str, list[tuple[str, Known]]] = {}
    for (obj, ext), record in known.items():
        by_id.setdefault(ext, []).append((obj, record))
    # A field several columns fill (a note about a contact, a company or a deal) takes each one's objects.
    allowed: dict[str, set[str] | None] = {}
    for link in file.spec.links:
        known_objects = allowed.get(link.field, set())
        allowed[link.field] = (
            None if not link.objects or known_objects is None else known_objects | set(link.objects)
        )
    resolved = []
    for row in rows:
        found: dict[str, list[Known]] = {}
        for name, ids in row.links.items():
            found[name] = [
                record
                for ext in ids
                for obj, record in by_id.get(ext, [])
                if allowed.get(name) is None or obj in allowed[name]
            ]
        resolved.append(found)
    return resolved


def _members_by_email(session: TenantSession) -> dict[str, uuid.UUID]:
    return {email.lower(): user_id for user_id, email in workspace_members(db.session, session.tenant.id)}


# --- the dry run ------------------------------------------------------------------------------------------


def dry_run(session: TenantSession, bundle: Bundle, choices: dict[str, Any]) -> dict[str, Any]:
    """What the import would do, writing nothing: per file, its counts (new, duplicates of what is here or
    earlier in the file, already imported by an earlier run, refused), samples of refused and duplicate
    rows with the reason, and its unknown columns with the current choice for each."""
    members = _members_by_email(session)
    in_bundle = {ext for f in bundle.files for ext in _external_ids(f)}
    objects = []
    for file in bundle.files:
        summary: dict[str, Any] = {
            "object": file.spec.object, "kind": file.spec.kind, "file": file.filename, "rows": file.total,
            "checked": 0, "new": 0, "duplicates": 0, "already_imported": 0, "refused": 0,
            "samples": [], "owners_unmatched": 0,
            "columns": [{"column": c, "choice": choices.get(file.spec.object, {}).get(c, "ignore"),
                         "key": field_key(bundle.vendor, file.spec.kind, c)} for c in file.unknown_columns()],
        }  # fmt: skip
        objects.append(summary)
        unavailable = _unavailable(session, file.spec.kind)
        if unavailable:
            summary["refused"] = file.total
            summary["samples"].append({"row": None, "outcome": "refused", "reason": unavailable})
            continue
        custom = _custom_columns(bundle, file, choices)
        seen: set[str] = set()
        for chunk in imports.chunks(islice(iter(file.rows), DRY_RUN_ROWS), BATCH_SIZE):
            rows = [map_row(bundle, file, number, values, custom) for number, values in chunk]
            summary["checked"] += len(rows)
            summary["owners_unmatched"] += sum(
                1 for r in rows if r.owner_email and r.owner_email not in members
            )
            done = known_records(
                session, bundle.vendor.key, {r.external_id for r in rows}, {file.spec.object}
            )
            fresh = [r for r in rows if (file.spec.object, r.external_id) not in done]
            summary["already_imported"] += len(rows) - len(fresh)
            outcomes = _dry_outcomes(session, bundle, file, fresh, seen, in_bundle)
            for row, (outcome, reason) in zip(fresh, outcomes, strict=True):
                summary[
                    "new" if outcome == "new" else "duplicates" if outcome == "duplicate" else "refused"
                ] += 1
                if outcome != "new" and len(summary["samples"]) < SAMPLES:
                    sample = {
                        "row": row.row_number,
                        "id": row.external_id,
                        "outcome": outcome,
                        "reason": reason,
                    }
                    summary["samples"].append(sample)
    return {"objects": objects, "total_rows": bundle.total_rows}


def _external_ids(file: ObjectFile) -> Iterator[str]:
    position = file.index[file.spec.id_column]
    for _, values in file.rows:
        if position < len(values) and values[position].strip():
            yield values[position].strip()


def _dry_outcomes(
    session: TenantSession,
    bundle: Bundle,
    file: ObjectFile,
    rows: list[MappedRow],
    seen: set[str],
    in_bundle: set[str],
) -> list[tuple[str, str]]:
    """(new | duplicate | refused, reason) per row; relations are checked against the export itself."""
    outcomes: list[tuple[str, str]] = [("new", "")] * len(rows)
    for i, row in enumerate(rows):
        if not row.external_id:
            outcomes[i] = ("refused", N_("No %(column)s.", column=file.spec.id_column))
    if file.spec.kind in BULK_KINDS:
        target = _bulk_target(session, file)
        job = _pseudo_job(target, None)
        # Without relations (nothing is written yet to point at), as the job validates them too.
        values = [_as_values(target, row) for row in rows]
        batch = imports.classify_rows(
            session, target, job, [(r.row_number, v) for r, v in zip(rows, values, strict=True)], seen,
            keep_outcomes=len(rows),
        )  # fmt: skip
        by_number = {outcome.row_number: outcome for outcome in batch.outcomes}
        for i, row in enumerate(rows):
            outcome = by_number.get(row.row_number)
            if outcomes[i][0] == "new" and outcome is not None and outcome.outcome != "import":
                kind = "duplicate" if outcome.outcome == "duplicate" else "refused"
                outcomes[i] = (kind, outcome.reason)
    else:
        for i, row in enumerate(rows):
            missing = _missing_required(file.spec.kind, row)
            if outcomes[i][0] == "new" and missing:
                outcomes[i] = ("refused", missing)
    for i, row in enumerate(rows):
        dangling = _dangling(bundle, file, row, in_bundle)
        if outcomes[i][0] == "new" and dangling:
            outcomes[i] = ("refused", dangling)
    return outcomes


def _missing_required(kind: str, row: MappedRow) -> str:
    if kind == "deals" and not row.data.get("name"):
        return "A deal needs a name."
    if kind == "tickets" and not row.data.get("subject"):
        return "A ticket needs a subject."
    if kind == "activities" and not (row.data.get("body") or row.data.get("subject")):
        return "An empty note or task."
    return ""


def _dangling(bundle: Bundle, file: ObjectFile, row: MappedRow, in_bundle: set[str]) -> str:
    """Why a timeline entry cannot be placed: none of the records it is about is in the export."""
    if file.spec.kind != "activities":
        return ""
    ids = row.links.get("about", [])
    if any(ext in in_bundle for ext in ids):
        return ""
    return "It is about no record of this export." if ids else "It is about no record."


# --- creating, configuring, starting ---------------------------------------------------------------------


def create_vendor_import(
    session: TenantSession, *, vendor: str, files: list[tuple[str, bytes]]
) -> VendorImport:
    """Check and store a vendor's export with the suggested choices and its dry run. Never commits; a
    refused export stores nothing."""
    spec = vendor_format(vendor)
    filename, content = pack(files)
    bundle = read_bundle(spec, content)
    choices = suggested_choices(bundle)
    job = VendorImport(
        vendor=spec.key, filename=filename[-255:], content=content, choices=choices, status="pending",
        total_rows=bundle.total_rows, created_by_user_id=acting_user_id(session),
    )  # fmt: skip
    job.dry_run = dry_run(session, bundle, choices)
    session.add(job)
    session.flush()
    return job


def get_vendor_import(
    session: TenantSession, import_id: uuid.UUID, *, for_update: bool = False
) -> VendorImport:
    """The import, without its export (loaded when first used: progress polls must not fetch megabytes)."""
    query = select(VendorImport).options(defer(VendorImport.content)).where(VendorImport.id == import_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    job = session.scalar(query)
    if job is None:
        raise NotFound(N_("No import from another CRM with id %(id)s.", id=import_id))
    return job


def list_vendor_imports(session: TenantSession, limit: int = 50) -> list[VendorImport]:
    query = select(VendorImport).options(defer(VendorImport.content)).order_by(VendorImport.created_at.desc())
    return list(session.scalars(query.limit(limit)))


def bundle_of(job: VendorImport) -> Bundle:
    return read_bundle(vendor_format(job.vendor), job.content)


CHOICES_FIXED = {
    "queued": N_("This import is queued; its choices can no longer change."),
    "running": N_("This import is running; its choices can no longer change."),
    "done": N_("This import is done; its choices can no longer change."),
    "failed": N_("This import failed; its choices can no longer change."),
}
"""Why an import from another CRM in each status refuses new choices, a whole sentence each."""


def set_choices(session: TenantSession, import_id: uuid.UUID, choices: dict[str, Any]) -> VendorImport:
    """The admin's edits of the suggested mapping; the dry run is made again with them."""
    job = get_vendor_import(session, import_id)
    if job.status != "pending":
        raise Conflict(CHOICES_FIXED.get(job.status, CHOICES_FIXED["running"]))
    bundle = bundle_of(job)
    merged = {
        obj: {**job.choices.get(obj, {}), **cols} for obj, cols in choices.items() if isinstance(cols, dict)
    }
    job.choices = check_choices(bundle, {**job.choices, **merged} if merged else choices)
    job.dry_run = dry_run(session, bundle, job.choices)
    session.flush()
    return job


def start_vendor_import(session: TenantSession, import_id: uuid.UUID) -> VendorImport:
    """Queue the import (or resume a failed or stalled one: its worker died) once this transaction commits.
    A resumed run skips every row the first one imported, by its external id."""
    job = get_vendor_import(session, import_id, for_update=True)
    if job.status not in ("pending", "failed") and not imports.is_stalled(job):  # type: ignore[arg-type]
        raise Conflict(imports.ALREADY_STARTED.get(job.status, imports.ALREADY_STARTED["running"]))
    job.status, job.message, job.heartbeat_at = "queued", None, datetime.now(UTC)
    session.flush()
    _enqueue_after_commit(session, job.id)
    return job


def _enqueue_after_commit(session: TenantSession, import_id: uuid.UUID) -> None:
    from sqlalchemy import event

    from saas.jobs import enqueue_for_tenant

    tenant_id = session.tenant.id

    def enqueue(_session: TenantSession) -> None:
        enqueue_for_tenant(tenant_id, RUN_VENDOR_IMPORT, str(import_id), job_timeout=JOB_TIMEOUT_SECONDS)

    event.listen(session, "after_commit", enqueue, once=True)


def progress(job: VendorImport) -> dict[str, Any]:
    return {
        "id": str(job.id), "vendor": job.vendor, "status": job.status, "total_rows": job.total_rows,
        "processed_rows": job.processed_rows, "imported_rows": job.imported_rows,
        "duplicate_rows": job.duplicate_rows, "skipped_rows": job.skipped_rows, "error_rows": job.error_rows,
        "message": job.message,
    }  # fmt: skip


# --- the job ------------------------------------------------------------------------------------------------


@dataclass
class _Written:
    """What a batch did: its vendor ids mapped to our records, and rows not imported."""

    mapped: list[tuple[str, Known]] = field(default_factory=list)
    imported: int = 0
    duplicates: int = 0
    refused: list[tuple[MappedRow, str, str]] = field(default_factory=list)  # row, outcome, reason
    consents: list[ImportedConsent] = field(default_factory=list)


def run_vendor_import(session: TenantSession, import_id: str) -> dict[str, Any]:
    """The background job: each file in turn, a batch per transaction; a rerun skips what is imported."""
    job_uuid = uuid.UUID(import_id)
    job = get_vendor_import(session, job_uuid)
    if job.status not in ("queued", "running"):
        return {**progress(job), "skipped": True}
    bundle = bundle_of(job)
    # A resumed run starts over: what the first run imported is skipped by its external ids.
    session.execute(delete(VendorImportRow).where(VendorImportRow.import_id == job.id))
    job.status, job.heartbeat_at = "running", datetime.now(UTC)
    job.processed_rows = job.duplicate_rows = job.skipped_rows = job.error_rows = 0
    session.commit()
    members = _members_by_email(session)
    try:
        _define_custom_fields(session, bundle, job.choices)
        db.session.commit()  # the audit entries of the new fields, just before the fields themselves
        session.commit()
        for file in bundle.files:
            _run_file(session, job_uuid, bundle, file, members)
        job = get_vendor_import(session, job_uuid, for_update=True)
        job.status, job.finished_at = "done", datetime.now(UTC)
        job.message = (
            f"{job.imported_rows} imported, {job.duplicate_rows} duplicates matched, {job.skipped_rows} "
            f"imported before, {job.error_rows} refused."
        )
        session.commit()
    except Exception as error:
        session.rollback()
        failed = get_vendor_import(session, job_uuid)
        failed.status = "failed"
        failed.message = f"Stopped: {str(error)[:300]} Start it again to continue; nothing is imported twice."
        session.commit()
        raise
    return progress(job)


def _define_custom_fields(session: TenantSession, bundle: Bundle, choices: dict[str, Any]) -> None:
    """The custom fields the admin accepted, text fields labelled by the vendor's column; kept if present."""
    for file in bundle.files:
        if not custom_fields.takes_fields(file.spec.kind) or _unavailable(session, file.spec.kind):
            continue
        existing = {custom_fields.key_of(d) for d in custom_fields.list_fields(session, file.spec.kind)}
        for column, key in _custom_columns(bundle, file, choices).items():
            if key not in existing:
                data = {"key": key, "label": column[:100], "field_type": "text"}
                custom_fields.define_field(session, file.spec.kind, data)
                existing.add(key)


def _run_file(
    session: TenantSession,
    job_uuid: uuid.UUID,
    bundle: Bundle,
    file: ObjectFile,
    members: dict[str, uuid.UUID],
) -> None:
    unavailable = _unavailable(session, file.spec.kind)
    custom = _custom_columns(bundle, file, get_vendor_import(session, job_uuid).choices)
    bulk = _bulk_target(session, file) if file.spec.kind in BULK_KINDS and not unavailable else None
    seen: dict[str, uuid.UUID] = {}  # dedupe key → record, for duplicates within the file
    batches = (
        [map_row(bundle, file, number, values, custom) for number, values in chunk]
        for chunk in imports.chunks(iter(file.rows), BATCH_SIZE)
    )
    # As in the CSV import, the next batch is validated in a thread while this one meets the database;
    # validation needs no relation (they are filled in after it), so it may run ahead. Leaving the block
    # waits for it: the session is never rolled back under it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vendor-import-validation") as validator:
        ahead = _validate_ahead(validator, bulk, next(batches, None))
        while ahead is not None:
            rows, listed, validating = ahead
            ahead = _validate_ahead(validator, bulk, next(batches, None))
            # Runs of imports of one vendor take turns per batch: neither maps the same vendor id twice.
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"{session.tenant.id}:vendor-import:{bundle.vendor.key}"},
            )
            job = get_vendor_import(session, job_uuid, for_update=True)
            if job.status != "running":
                return
            done = known_records(
                session, bundle.vendor.key, {r.external_id for r in rows}, {file.spec.object}
            )
            is_fresh = [bool(r.external_id) and (file.spec.object, r.external_id) not in done for r in rows]
            fresh = [r for r, keep in zip(rows, is_fresh, strict=True) if keep]
            written = _Written()
            written.refused += [
                (r, "refused", N_("No %(column)s.", column=file.spec.id_column))
                for r in rows
                if not r.external_id
            ]
            if unavailable:
                written.refused += [(r, "refused", unavailable) for r in fresh]
            elif bulk is not None and validating is not None:
                checked = zip(listed, validating.result(), is_fresh, strict=True)
                kept = [(values, validated) for values, validated, keep in checked if keep]
                _write_bulk(session, bundle, file, bulk, fresh, kept, members, job, seen, written)
            else:
                _write_each(session, bundle, file, fresh, members, written)
            _record_batch(session, bundle, file, job, written)
            job.processed_rows += len(rows)
            job.skipped_rows += len(rows) - len(fresh) - sum(1 for r in rows if not r.external_id)
            job.imported_rows += written.imported
            job.duplicate_rows += written.duplicates
            job.error_rows += sum(1 for _, outcome, _ in written.refused if outcome == "refused")
            job.heartbeat_at = datetime.now(UTC)
            db.session.commit()  # the consent ledger's audit entry of the batch, just before the batch
            session.commit()


def _validate_ahead(
    validator: ThreadPoolExecutor, target: imports.ImportTarget | None, rows: list[MappedRow] | None
) -> tuple[list[MappedRow], list[tuple[int, list[str]]], Future[list[imports.Validated]] | None] | None:
    """A batch with its validation under way (for the CSV import's kinds), or None after the last one."""
    if rows is None:
        return None
    if target is None:
        return rows, [], None
    names = [f.name for f in target.fields]
    columns = {name: i for i, name in enumerate(names)}
    listed = [(row.row_number, _as_values(target, row)) for row in rows]
    return rows, listed, validator.submit(imports.validate_rows, target, names, columns, listed)


def _record_batch(
    session: TenantSession, bundle: Bundle, file: ObjectFile, job: VendorImport, written: _Written
) -> None:
    """What a batch leaves besides its records: vendor ids, consent events, rows for the report."""
    if written.mapped:
        imports.copy_rows(
            session, ExternalRecord.__tablename__,
            ["vendor", "object", "external_id", "record_type", "record_id", "import_id"],
            ([bundle.vendor.key, file.spec.object, ext, known.record_type, known.record_id, job.id]
             for ext, known in dict(written.mapped).items()),
        )  # fmt: skip
    if written.consents:
        registry.import_consents(session, written.consents, f"import:{bundle.vendor.key}")
    if written.refused:
        session.execute(
            VendorImportRow.__table__.insert(),
            [
                {"import_id": job.id, "object": file.spec.object, "row_number": r.row_number,
                 "external_id": r.external_id[:100] or None, "outcome": outcome, "reason": reason[:500],
                 "raw": r.raw}
                for r, outcome, reason in written.refused
            ],
        )  # fmt: skip


def _owner_id(row: MappedRow, members: dict[str, uuid.UUID]) -> uuid.UUID | None:
    return members.get(row.owner_email) if row.owner_email else None


def _write_bulk(
    session: TenantSession,
    bundle: Bundle,
    file: ObjectFile,
    target: imports.ImportTarget,
    rows: list[MappedRow],
    checked: list[tuple[tuple[int, list[str]], imports.Validated]],
    members: dict[str, uuid.UUID],
    job: VendorImport,
    seen: dict[str, uuid.UUID],
    written: _Written,
) -> None:
    """Accounts, contacts, leads: the CSV import's validation (done ahead), deduplication and COPY; the
    relations and owners, ids of ours, are filled into the validated records."""
    pseudo = _pseudo_job(target, job.created_by_user_id)
    fields = {f.name for f in target.fields}
    links = _resolve_links(session, bundle, file, rows)
    resolved: dict[int, dict[str, uuid.UUID]] = {}
    for row, found in zip(rows, links, strict=True):
        ours = {name: records[0].record_id for name, records in found.items() if records and name in fields}
        owner = _owner_id(row, members)
        if owner and imports.OWNER in fields:
            ours[imports.OWNER] = owner
        resolved[row.row_number] = ours
    listed = [values for values, _ in checked]
    validated = [result for _, result in checked]
    batch = imports.classify_rows(
        session, target, pseudo, listed, set(seen), keep_outcomes=len(listed), validated=validated
    )
    by_number = {row.row_number: row for row in rows}
    new_rows = [by_number[o.row_number] for o in batch.outcomes if o.outcome == "import"]
    for row, record in zip(new_rows, batch.records, strict=True):
        record.update(resolved[row.row_number])
    ids = imports.insert_records(session, target, pseudo, batch.records)
    for row, record, record_id in zip(new_rows, batch.records, ids, strict=True):
        written.mapped.append((row.external_id, Known(target.entity, record_id)))
        seen[target.dedupe_key(record) or ""] = record_id
    written.imported += len(ids)
    matched = _matched_duplicates(session, target, file, batch, by_number, seen)
    for outcome in batch.outcomes:
        row = by_number[outcome.row_number]
        if outcome.outcome == "duplicate":
            written.duplicates += 1
            written.refused.append((row, "duplicate", outcome.reason))
            if outcome.row_number in matched:
                written.mapped.append((row.external_id, Known(target.entity, matched[outcome.row_number])))
        elif outcome.outcome == "error":
            written.refused.append((row, "refused", outcome.reason))
    record_of = dict(written.mapped)
    if file.spec.kind == "contacts":
        written.consents += [
            ImportedConsent(record_of[row.external_id].record_id, purpose, status, at)
            for row in rows
            if row.external_id in record_of
            for purpose, status, at in row.consents
        ]


def _matched_duplicates(
    session: TenantSession,
    target: imports.ImportTarget,
    file: ObjectFile,
    batch: imports.Batch,
    by_number: dict[int, MappedRow],
    seen: dict[str, uuid.UUID],
) -> dict[int, uuid.UUID]:
    """Row number → the record a duplicate row matched (already here, or earlier in the file): the vendor's
    id then points at it, so its relations land on the record that is kept."""
    keys = {
        o.row_number: key for o in batch.outcomes if o.outcome == "duplicate" and (key := _key_of(target, o))
    }
    existing = _ids_by_key(session, target, {k for k in keys.values() if k not in seen})
    return {n: seen.get(k) or existing[k] for n, k in keys.items() if seen.get(k) or k in existing}


def _key_of(target: imports.ImportTarget, outcome: imports.RowOutcome) -> str | None:
    values = {name: value.strip() for name, value in outcome.values.items()}
    return target.dedupe_key(values)


def _ids_by_key(session: TenantSession, target: imports.ImportTarget, keys: set[str]) -> dict[str, uuid.UUID]:
    if not keys:
        return {}
    table = target.table
    if "email" in table.c:
        lowered = func.lower(table.c.email)
        rows = session.execute(select(lowered, table.c.id).where(lowered.in_(sorted(keys))))
        return dict(rows.tuples().all())
    if table is Account.__table__:
        found: dict[str, uuid.UUID] = {}
        pairs = [tuple(key.split(":", 1)) for key in keys]
        domains = [value for kind, value in pairs if kind == "domain"]
        names = [value for kind, value in pairs if kind == "name"]
        if domains:
            lowered = func.lower(Account.domain)
            found |= {
                f"domain:{d}": i
                for d, i in session.execute(select(lowered, Account.id).where(lowered.in_(domains)))
            }
        if names:
            found |= {
                f"name:{n}": i
                for n, i in session.execute(
                    select(Account.sort_name, Account.id).where(Account.sort_name.in_(names))
                )
            }
        return found
    return {}


def _write_each(
    session: TenantSession,
    bundle: Bundle,
    file: ObjectFile,
    rows: list[MappedRow],
    members: dict[str, uuid.UUID],
    written: _Written,
) -> None:
    """Deals, tickets, timeline entries: one by one through their service, each in a savepoint."""
    kind = file.spec.kind
    record_type = _record_type(session, kind) if kind != "activities" else None
    subjects = {t.table: t.timeline_subject for t in registry.record_types(session) if t.timeline_subject}
    for row, found in zip(rows, _resolve_links(session, bundle, file, rows), strict=True):
        missing = _missing_required(kind, row)
        if missing:
            written.refused.append((row, "refused", missing))
            continue
        try:
            with session.begin_nested():
                if kind == "activities":
                    data = _activity_data(row, found, subjects)
                    record = activities.create(session, data)
                else:
                    assert record_type is not None and record_type.service is not None
                    data = _record_data(kind, row, found, _owner_id(row, members))
                    if record_type.import_names is not None:
                        data = record_type.import_names(session, data)
                    record = record_type.service().create(session, data)
                if row.custom and custom_fields.takes_fields(kind):
                    custom_fields.write_values(session, kind, record.id, row.custom, creating=False)
        except (SaasError, ValueError, ArithmeticError) as error:
            written.refused.append((row, "refused", _reason(error)))
            continue
        written.imported += 1
        written.mapped.append((row.external_id, Known(kind, record.id)))


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError) and error.errors:
        return "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in error.errors.items())
    return getattr(error, "detail", None) or str(error) or type(error).__name__


def _record_data(
    kind: str, row: MappedRow, found: dict[str, list[Known]], owner: uuid.UUID | None
) -> dict[str, Any]:
    from datetime import date
    from decimal import Decimal

    data: dict[str, Any] = dict(row.data)
    if kind == "deals":
        if "amount" in data:
            data["amount"] = Decimal(data["amount"])
        if "close_date" in data:
            data["close_date"] = date.fromisoformat(data["close_date"])
        if "currency" in data:
            data["currency"] = data["currency"].upper()
        if found.get("account_id"):
            data["account_id"] = found["account_id"][0].record_id
        contacts = [k.record_id for k in found.get("contact_ids", []) if k.record_type == "contacts"]
        if contacts:
            data["contact_ids"] = contacts[:50]
        data["owner_user_id"] = owner
    elif kind == "tickets":
        data = {k: v for k, v in data.items() if k in ("subject", "description", "priority")}
        data["subject"] = data["subject"][:200]
        if data.get("priority") not in (None, "low", "normal", "high", "urgent"):
            data.pop("priority")
        requester = [
            k.record_id for k in found.get("requester_contact_id", []) if k.record_type == "contacts"
        ]
        data["requester_contact_id"] = requester[0] if requester else None
        if owner:
            data["assignee_user_id"] = owner
    return data


def _activity_data(row: MappedRow, found: dict[str, list[Known]], subjects: dict[str, str]) -> dict[str, Any]:
    body = row.data.get("body") or ""
    subject = row.data.get("subject") or (body.splitlines()[0] if body else "") or "Note"
    data: dict[str, Any] = {
        "kind": row.data.get("kind") or "note",
        "subject": subject[:200],
        "body": body or None,
    }
    occurred = parse_datetime(row.data.get("occurred_at", ""))
    if occurred:
        data["occurred_at"] = occurred
    for known in found.get("about", []):
        if known.record_type == "contacts":
            data.setdefault("contact_id", known.record_id)
        elif known.record_type == "accounts":
            data.setdefault("account_id", known.record_id)
        elif known.record_type in subjects and "subject_id" not in data:
            data["subject_type"], data["subject_id"] = subjects[known.record_type], known.record_id
    if not ({"contact_id", "account_id", "subject_id"} & set(data)):
        raise ValueError("It is about no record this import brought in.")
    return data


# --- the report ------------------------------------------------------------------------------------


def report(session: TenantSession, import_id: uuid.UUID) -> tuple[str, Iterator[str]]:
    """A file name and the CSV lines of every row not imported: object, row, id, outcome, reason, values."""
    job = get_vendor_import(session, import_id)
    rows = session.scalars(
        select(VendorImportRow)
        .where(VendorImportRow.import_id == job.id)
        .order_by(VendorImportRow.object, VendorImportRow.row_number)
    ).all()

    def lines() -> Iterator[str]:
        yield csv_line(["object", "row", "external_id", "outcome", "reason", "values"])
        for row in rows:
            values = json.dumps(row.raw, ensure_ascii=False, sort_keys=True)
            yield csv_line(
                [row.object, row.row_number, row.external_id or "", row.outcome, row.reason, values]
            )

    return f"{job.vendor}-import-{job.id}-not-imported.csv", lines()


def report_rows(session: TenantSession, import_id: uuid.UUID, limit: int = 50) -> list[VendorImportRow]:
    job = get_vendor_import(session, import_id)
    query = select(VendorImportRow).where(VendorImportRow.import_id == job.id)
    return list(
        session.scalars(query.order_by(VendorImportRow.object, VendorImportRow.row_number).limit(limit))
    )


# --- privacy ------------------------------------------------------------------------------------------------


def erase_from_vendor_imports(session: TenantSession, subject: DataSubject) -> dict[str, int]:
    """A person's erasure in other CRMs' exports (core's privacy hook): each stored export is rewritten
    without the lines holding the person's email, and the report rows about them go. The vendor ids that
    point at the erased record stay (no personal data): a rerun of an old export skips the person."""
    if not subject.email:
        return {"vendor_import_lines": 0, "vendor_import_rows": 0}
    needle = subject.email.lower()
    rows = session.execute(
        delete(VendorImportRow).where(func.lower(cast(VendorImportRow.raw, Text)).contains(needle))
    ).rowcount
    lines = 0
    for job in session.scalars(select(VendorImport)):
        rewritten, removed = _without_lines(job.content, needle.encode())
        if removed:
            job.content, lines = rewritten, lines + removed
    session.flush()
    return {"vendor_import_lines": lines, "vendor_import_rows": rows}


def _without_lines(content: bytes, needle: bytes) -> tuple[bytes, int]:
    """The ZIP with every CSV line that mentions ``needle`` (case-insensitively) left out."""
    removed = 0
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            if needle in data.lower():
                kept = [line for line in data.split(b"\n") if needle not in line.lower()]
                removed += data.count(b"\n") + 1 - len(kept)
                data = b"\n".join(kept)
            out.writestr(entry, data)
    return (buffer.getvalue(), removed) if removed else (content, 0)
