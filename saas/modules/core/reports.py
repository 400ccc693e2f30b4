"""Reports: counts, sums and averages of one record type grouped by one or two of its fields (custom fields
included), or of a module's report source (attribution, customers), as rows for a table, a chart and a CSV
download. Only whitelisted columns reach the SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Numeric,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from saas.db import TenantSession, db
from saas.errors import ValidationError
from saas.i18n import N_, translate
from saas.modules.core import currencies, custom_fields, objects
from saas.modules.core.currencies import Converter
from saas.modules.core.models import CustomField
from saas.modules.registry import ReportSource, Series, registry
from saas.modules.switches import ModuleDisabled, enabled_module_keys
from saas.spreadsheet import csv_line
from saas.sql import qualified_column, quote_identifier

MEASURES = ("count", "sum", "avg")
MEASURE_LABELS = {"count": N_("Count"), "sum": N_("Sum"), "avg": N_("Average")}
GROUPABLE_CUSTOM = (
    "text",
    "single_select",
    "boolean",
    "date",
    "number",
    "email",
    "phone",
    "url",
    "reference",
)
NUMERIC_CUSTOM = ("number", "currency")
_MAX_GROUPS = 500


@dataclass(frozen=True)
class ReportRow:
    group: Any
    then: Any
    value: Decimal
    group_label: str | None = None
    """What a person reads for ``group``: a referenced record's name (a stage's, an owner's), else the
    value as text; ``None`` for no value."""
    then_label: str | None = None


def fields_of(session: TenantSession, entity: str) -> tuple[dict[str, str], dict[str, str]]:
    """(groupable, summable) fields of a record type (built-in then custom) or of a report source: name ->
    label."""
    source = registry.report_source(entity)
    if source is not None:
        return dict(source.groupable), dict(source.summable)
    return fields_among(entity, custom_fields.list_fields(session, entity))


def fields_among(entity: str, definitions: list[CustomField]) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`fields_of` with the record type's custom field definitions given."""
    table = custom_fields._table(entity)
    groupable, summable = {}, {}
    members_named = registry.labels_records("users")
    for column in table.columns:
        if column.computed is not None or column.name == "id":
            continue
        if column.name.endswith("_user_id") and not members_named:
            continue
        if isinstance(column.type, Numeric | Integer) and not column.primary_key:
            summable[column.name] = _field_label(column.name)
        if (
            (isinstance(column.type, String) and (column.type.length or 0) <= 100)
            or isinstance(column.type, Boolean | Date)
            or column.name.endswith("_id")
        ):
            groupable[column.name] = _field_label(column.name)
    for definition in definitions:
        name = definition.column_name
        if definition.field_type in GROUPABLE_CUSTOM:
            groupable[name] = definition.label
        if definition.field_type in NUMERIC_CUSTOM:
            summable[name] = definition.label
    return groupable, summable


def _field_label(name: str) -> str:
    """``stage_id`` reads "Stage", ``owner_user_id`` "Owner": the field names a record, not an id. Pages
    show it through ``translate``: the built-in record types' labels are in the catalogs (FIELD_LABELS)."""
    words = name.removesuffix("_id").removesuffix("_user").replace("_", " ")
    first, _, rest = words.partition(" ")
    first = first.upper() if first in ("csat", "sla") else first[:1].upper() + first[1:]
    return f"{first} {rest}" if rest else first


FIELD_LABELS = (
    N_("Account"),
    N_("Amount"),
    N_("Amount follows quote"),
    N_("Assignee"),
    N_("Channel"),
    N_("Close date"),
    N_("Converted account"),
    N_("Converted contact"),
    N_("Converted deal"),
    N_("CSAT comment"),
    N_("CSAT rating"),
    N_("Currency"),
    N_("Description"),
    N_("Email message"),
    N_("First name"),
    N_("First response breached"),
    N_("Industry"),
    N_("Last name"),
    N_("Notes"),
    N_("Owner"),
    N_("Predicted score"),
    N_("Rule score"),
    N_("Phone"),
    N_("Pipeline"),
    N_("Preferred locale"),
    N_("Priority"),
    N_("Queue"),
    N_("Requester contact"),
    N_("Resolution breached"),
    N_("SLA elapsed minutes"),
    N_("Source"),
    N_("Stage"),
    N_("Status"),
    N_("Title"),
)
"""The built-in record types' report fields as ``_field_label`` names them, marked for the catalogs
(tests/i18n/test_report_field_labels.py fails on a new column missing here)."""


def referenced_type(entity: str, name: str, definitions: list[CustomField]) -> str | None:
    """The record type (table) whose ids the field ``name`` of ``entity`` holds, if a module names
    that type's records: a reference custom field's target, a foreign key's table, members for
    ``*_user_id``."""
    definition = next((d for d in definitions if d.column_name == name), None)
    if definition is not None:
        target = definition.reference if definition.field_type == "reference" else None
    elif name.endswith("_user_id"):
        target = "users"
    else:
        column = custom_fields._table(entity).columns.get(name)
        key = next(iter(column.foreign_keys), None) if column is not None else None
        target = key.column.table.name if key is not None else None
    return target if objects.names_records(target) else None


def value_labels(
    session: TenantSession, entity: str, name: str, values: list[Any], definitions: list[CustomField]
) -> dict[Any, str | None]:
    """What a person reads for each of the field's ``values``: the referenced records' names (an id no
    module names, a deleted record's, stays as it is), else the value as text."""
    target = referenced_type(entity, name, definitions)
    names = objects.record_names(session, target, {v for v in values if v is not None}) if target else {}
    return {value: None if value is None else names.get(value, str(value)) for value in values}


def filter_labels(session: TenantSession, entity: str, filters: dict[str, str]) -> dict[str, str]:
    """For each filter on a field that refers to records, the name of the record its value is the id
    of, so the page shows "stage is Proposal" beside the id it keeps."""
    if registry.report_source(entity) is not None:
        return {}  # a source's fields hold values, not records' ids
    definitions = custom_fields.list_fields(session, entity)
    named = {}
    for name, value in filters.items():
        target = referenced_type(entity, name, definitions)
        try:
            record_id = uuid.UUID(value)
        except ValueError:
            continue
        label = objects.record_names(session, target, [record_id]).get(record_id) if target else None
        if label is not None:
            named[name] = label
    return named


def _column(entity: str, name: str) -> ColumnElement:
    # Only names from fields_of() get here (built-in columns and defined custom fields), and quoted even so:
    # a custom field's name comes from a stored row, which an imported archive could have crafted.
    return qualified_column(entity, name)


FILTER_PREFIX = "f_"
"""Report filters travel as ``f_<field>=<value>`` parameters (``f_status=open``, ``f_cf_region=north``)."""
MAX_FILTERS = 10


def filters_from(arguments: dict[str, str]) -> dict[str, str]:
    """The ``f_<field>`` parameters of a request as ``{field: value}`` (empty values mean "any")."""
    return {
        name.removeprefix(FILTER_PREFIX): value
        for name, value in arguments.items()
        if name.startswith(FILTER_PREFIX) and value != ""
    }


def check_report(
    entity: str,
    definitions: list[CustomField],
    group_by: str,
    measure: str = "count",
    field: str | None = None,
    then_by: str | None = None,
    filters: dict[str, str] | None = None,
) -> list[tuple[CustomField, Any]]:
    """Refuse a report that names anything but ``entity``'s own fields (``definitions`` are its custom
    ones), with :class:`ValidationError`; returns its custom field filters, typed. A report source's
    fields are its declared ones."""
    source = registry.report_source(entity)
    if source is None and not custom_fields.takes_fields(entity):
        types = ", ".join([*custom_fields.entities(), *(s.key for s in registry.report_sources())])
        raise ValidationError(
            "Unknown record type.",
            {"entity": [N_("Use one of: %(types)s or a custom object's table.", types=types)]},
        )
    if source is not None:
        groupable, summable = dict(source.groupable), dict(source.summable)
    else:
        groupable, summable = fields_among(entity, definitions)
    errors: dict[str, list[str]] = {}
    if group_by not in groupable:
        errors["group_by"] = [N_("Group by one of: %(fields)s.", fields=", ".join(groupable))]
    if then_by and then_by not in groupable:
        errors["then_by"] = [N_("Then by one of: %(fields)s.", fields=", ".join(groupable))]
    if measure not in MEASURES:
        errors["measure"] = [N_("Use one of: %(measures)s.", measures=", ".join(MEASURES))]
    elif measure != "count" and field not in summable:
        errors["field"] = [
            N_("Sum or average one of: %(fields)s.", fields=", ".join(summable))
            if summable
            else N_("There is no numeric field here to sum or average.")
        ]
    if errors:
        raise ValidationError("Please correct the report.", errors)
    filters = filters or {}
    errors = {
        f"{FILTER_PREFIX}{name}": [N_("Filter on one of: %(fields)s.", fields=", ".join(groupable))]
        for name in filters
        if name not in groupable
    }
    if len(filters) > MAX_FILTERS:
        errors["filters"] = [N_("At most %(count)s filters.", count=MAX_FILTERS)]
    if errors:
        raise ValidationError("Please correct the report's filters.", errors)
    custom = {
        name.removeprefix(custom_fields.PREFIX): value
        for name, value in filters.items()
        if name.startswith(custom_fields.PREFIX)
    }
    return custom_fields.checked_filters(definitions, custom)


def money_currency_column(session: TenantSession, entity: str, field: str | None) -> str | None:
    """The currency column of ``field`` when it is an amount of money (a deal's amount), else None."""
    declared = registry.report_source(entity) or registry.record_type(session, entity)
    return dict(declared.money_fields).get(field or "") if declared is not None else None


def money_converter(session: TenantSession, entity: str, measure: str, field: str | None) -> Converter | None:
    """A converter to pass to :func:`run_report` when the report sums or averages money, so the caller can
    say what the figures rest on (``explain``, ``report``); None for any other report."""
    if measure == "count" or money_currency_column(session, entity, field) is None:
        return None
    return currencies.converter(session)


def _in_base_currency(
    session: TenantSession,
    subject: _Subject,
    field: str,
    currency_name: str,
    conditions: list,
    converter: Converter,
) -> ColumnElement:
    """``field`` converted into the base currency, row by row; records in a currency without a rate are
    left out (``conditions`` gains the filter) and noted in ``converter.missing``."""
    currency = subject.column(currency_name)
    present = session.scalars(select(currency).distinct().select_from(subject.rows).where(*conditions)).all()
    rates = {code: converter.convert(Decimal(1), code) for code in present if code}
    rates = {code: rate for code, rate in rates.items() if rate is not None}
    conditions.append(currency.in_(list(rates)))
    rate = case({code: literal(value, Numeric) for code, value in rates.items()}, value=currency)
    return subject.column(field).cast(Numeric) * rate


@dataclass(frozen=True)
class _Subject:
    """What a report counts: a record type's table or a report source's rows, and its columns by name."""

    rows: Any
    column: Callable[[str], ColumnElement]
    definitions: list[CustomField]
    source: ReportSource | None = None


def _subject(session: TenantSession, entity: str) -> _Subject:
    """The report's rows, refused (:class:`ModuleDisabled`) when their module is switched off here."""
    source = registry.report_source(entity)
    declared = source or registry.record_type(session, entity)
    if declared is not None and declared.module not in enabled_module_keys(db.session, session.tenant.id):
        raise ModuleDisabled(
            N_(
                "The %(module)s module is switched off for this workspace.",
                module=registry.get(declared.module).title,
                translated=("module",),
            )
        )
    if source is not None:
        rows = source.rows(session).subquery("report_source")
        return _Subject(rows, lambda name: rows.c[name], [], source)
    if declared is None and custom_fields.takes_fields(entity):  # a custom object deleted, or never here
        raise ValidationError("Unknown record type.", {"entity": ["This workspace has no such object."]})
    definitions = custom_fields.list_fields(session, entity) if declared is not None else []
    return _Subject(text(quote_identifier(entity)), lambda name: _column(entity, name), definitions)


def _labels(
    session: TenantSession, entity: str, subject: _Subject, name: str, values: list[Any]
) -> dict[Any, str | None]:
    """:func:`value_labels`, or for a report source the reader's names of its values."""
    if subject.source is None:
        return value_labels(session, entity, name, values, subject.definitions)
    named = subject.source.value_labels(name) if subject.source.value_labels is not None else {}
    return {
        value: None if value is None else translate(named[value]) if value in named else str(value)
        for value in values
    }


def run_report(
    session: TenantSession,
    entity: str,
    group_by: str,
    measure: str = "count",
    field: str | None = None,
    then_by: str | None = None,
    filters: dict[str, str] | None = None,
    converter: Converter | None = None,
) -> list[ReportRow]:
    """``measure`` (of ``field``) per value of ``group_by`` (and of ``then_by``) over the records that
    match ``filters``, largest groups first.

    Sums and averages of money (``RecordType.money_fields``) are in the base currency: pass ``converter``
    (:func:`~saas.modules.core.currencies.converter`) to learn the rates used and the currencies left
    out for want of one."""
    subject = _subject(session, entity)
    definitions = subject.definitions
    custom_filters = check_report(entity, definitions, group_by, measure, field, then_by, filters)
    conditions = custom_fields.conditions_of(custom_filters)
    for name, value in (filters or {}).items():
        if not name.startswith(custom_fields.PREFIX):
            # The column's text form (dates ISO, booleans true/false): one bound value, any column type.
            conditions.append(cast(subject.column(name), Text) == value)
    groups = [subject.column(group_by)] + ([subject.column(then_by)] if then_by else [])
    if measure == "count":
        value = func.count()
    else:
        measured = subject.column(field).cast(Numeric)
        currency_name = money_currency_column(session, entity, field)
        if currency_name is not None:
            converter = converter or currencies.converter(session)
            measured = _in_base_currency(session, subject, field, currency_name, conditions, converter)
        value = (func.sum if measure == "sum" else func.avg)(measured)
    query = (
        select(*groups, value.label("value"))
        .select_from(subject.rows)
        .where(*conditions)
        .group_by(*groups)
        .order_by(text("value DESC"), *groups)
        .limit(_MAX_GROUPS)
    )
    found = session.execute(query).all()
    groups_read = _labels(session, entity, subject, group_by, [row[0] for row in found])
    thens_read = {}
    if then_by:
        thens_read = _labels(session, entity, subject, then_by, [row[1] for row in found])
    return [
        ReportRow(
            group=row[0],
            then=row[1] if then_by else None,
            value=Decimal(row[-1] or 0).quantize(Decimal("0.01")) if measure != "count" else Decimal(row[-1]),
            group_label=groups_read[row[0]],
            then_label=thens_read.get(row[1]) if then_by else None,
        )
        for row in found
    ]


def chart_series(
    rows: list[ReportRow], measure: str, then_by: str | None
) -> tuple[tuple[str, ...], tuple[Series, ...]]:
    """A report as a chart's labels and series: a bar group per group value, a series per second grouping."""

    def shown(label: str | None) -> str:
        return label if label is not None else "—"

    labels = tuple(dict.fromkeys(shown(r.group_label) for r in rows))
    values = {(shown(r.group_label), shown(r.then_label)): r.value for r in rows}
    thens = tuple(dict.fromkeys(shown(r.then_label) for r in rows)) if then_by else ("—",)
    series = tuple(
        Series(
            name=then if then_by else measure,
            values=tuple(float(values.get((label, then), 0)) for label in labels),
        )
        for then in thens
    )
    return labels, series


def report_csv(rows: list[ReportRow], group_by: str, then_by: str | None, measure: str) -> str:
    """The report as CSV for a spreadsheet: group values are the records' own text, so formula-guarded."""

    def shown(label: str | None) -> str:
        return "" if label is None else label

    header = csv_line([group_by, *([then_by] if then_by else []), measure])
    return header + "".join(
        csv_line([shown(row.group_label), *([shown(row.then_label)] if then_by else []), str(row.value)])
        for row in rows
    )
