"""The shared record pages (list, form, detail with timeline and panels, delete) of every record type, and
those of contacts and accounts; the dashboard."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import marshmallow
from flask import (
    Blueprint,
    flash,
    g,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import func, or_, select
from werkzeug.routing import BuildError

from saas.auth.services import workspace_members
from saas.db import TenantBase, db
from saas.errors import ValidationError
from saas.i18n import N_, from_local_input, local_input_value, translate
from saas.modules.core import pickers, schemas, scoring, services
from saas.modules.core.activities import LOGGED_KINDS, activities, shown_entry_text
from saas.modules.core.blueprints import pages
from saas.modules.core.models import Contact
from saas.modules.core.saved_views import register_columns
from saas.modules.core.views.columns import (
    TIMESTAMP_COLUMNS,
    ListColumn,
    columns_of,
    list_arguments,
    phone_column,
    prepare_rows,
    shown_phone,
    sort_link,
)
from saas.modules.core.views.pickers import reference_label
from saas.modules.registry import RecordLink, RecordType, registry
from saas.modules.switches import enabled_module_keys
from saas.tenants.routing import current_tenant_session

pages.add_app_template_filter(shown_phone, "phone")  # ``{{ record.phone|phone }}`` on any page
pages.add_app_template_filter(shown_entry_text, "entry_text")  # a timeline entry in the reader's language

ACTIVITY_KIND_NAMES = (N_("Note"), N_("Call"), N_("Meeting"), N_("Email"), N_("System"))
"""The timeline's kinds as its page shows them (``kind|capitalize|translate``), marked for extraction."""


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text, email, tel, number, date, datetime-local, textarea, select, record
    required: bool = False
    record_type: str | None = None
    """Of a ``record`` field: the table of the records it points at, chosen with a type-ahead picker."""
    choices: Callable[[], list[tuple[Any, str]]] | None = None
    multiple: bool = False
    """A select that takes several values; its form value is a list."""
    step: str | None = None  # of a number input: "0.01" for money
    show: Callable[[Any], Any] | None = None
    """What the detail page shows for this field, when not the stored value (an id's name...)."""

    def form_value(self, record: Any) -> Any:
        """The stored value as the form's input expects it."""
        value = getattr(record, self.name)
        if self.kind == "datetime-local" and isinstance(value, datetime):
            return local_input_value(value)
        return value


PHONE_FIELD = FormField("phone", N_("Phone"), "tel", show=lambda record: shown_phone(record.phone))
"""The phone of a contact, account or lead: typed in any format, shown in the reader's."""

ACTIVITY_FIELDS = (FormField("occurred_at", N_("When"), "datetime-local"),)
"""The timeline form's fields that need more than the schema (its time, typed on the reader's clock)."""


@dataclass(frozen=True)
class Timeline:
    """A record's timeline on its detail page: which entries it shows, what a new entry links to."""

    entries: Callable[[Any], dict[str, Any]]
    """The record's filters of :meth:`ActivityService.list`."""
    links: Callable[[Any], dict[str, Any]]
    """The links of an activity logged on the record's page."""


@dataclass(frozen=True)
class RecordWords:
    """What the shared record pages call one record type, each a whole phrase (marked with ``N_`` and
    translated where shown): a noun put into an English sentence does not decline in German or Russian."""

    singular: str
    plural: str
    new: str
    edit: str
    delete: str
    delete_question: str
    search: str
    none_yet: str
    none_match: str
    """With ``%(query)s``."""
    saved: str
    deleted: str
    lookalike: str
    """The "possible duplicate" badge's hint."""

    @classmethod
    def english(cls, singular: str, plural: str) -> RecordWords:
        """Phrases made from the nouns, for a record type whose pages are not translated yet."""
        return cls(
            singular.capitalize(), plural.capitalize(), f"New {singular}", f"Edit {singular}",
            f"Delete {singular}", f"Delete this {singular}?", f"Search {plural}", f"No {plural} yet.",
            f"No {plural} match “%(query)s”.", f"{singular.capitalize()} saved.",
            f"{singular.capitalize()} deleted.", f"Another {singular} looks like the same one",
        )  # fmt: skip


@dataclass(frozen=True)
class RecordPages:
    """Everything the shared list/detail/form templates need to show one record type.

    A module's record types use it too: ``blueprint`` names the blueprint the pages are registered
    on, ``filters`` parses the list page's filter parameters, and the templates may be ones that
    extend the shared ones.
    """

    service: services.RecordService
    schema_in: type[marshmallow.Schema]
    singular: str
    plural: str
    fields: tuple[FormField, ...]
    columns: tuple[ListColumn, ...] = field(default_factory=tuple)
    """The list page's own columns (the first one links to the record); custom fields add theirs."""
    blueprint: str = "core"
    filters: type[marshmallow.Schema] | None = None
    list_template: str = "core/record_list.html"
    detail_template: str = "core/record_detail.html"
    detail_context: Callable[[Any], dict[str, Any]] | None = None
    """Extra template variables of the detail page (a deal's stage history...)."""
    timeline: Timeline | None = None
    words: RecordWords | None = None
    """The pages' phrases; ``None`` makes English ones from ``singular`` and ``plural``."""

    def __post_init__(self) -> None:
        if self.words is None:
            object.__setattr__(self, "words", RecordWords.english(self.singular, self.plural))

    def endpoint(self, action: str) -> str:
        return f"{self.blueprint}.{action}_{self.plural}"


PICKED_SUFFIX = pickers.PICKED_SUFFIX


def _form_data(pages_of: RecordPages) -> dict[str, Any]:
    data = {
        key: value
        for key, value in request.form.items()
        if key != "csrf_token" and not key.endswith(PICKED_SUFFIX)
    }
    for f in pages_of.fields:
        if f.multiple:  # an empty multiple select sends nothing: that means "none", not "unchanged"
            data[f.name] = request.form.getlist(f.name)
    return data


def on_readers_clock(fields: Iterable[FormField], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each ``datetime-local`` value read on the reader's clock (what the input shows), as an
    ISO timestamp with its offset; a value that is no date and time is left for the schema to refuse."""
    timed = {f.name for f in fields if f.kind == "datetime-local"}
    moments = {name: from_local_input(value) for name, value in data.items() if name in timed and value}
    return data | {name: moment.isoformat() for name, moment in moments.items() if moment is not None}


def _typed_references() -> dict[str, str]:
    """What was typed into the form's record pickers (its own fields' and custom references'), by input."""
    return {name: value for name, value in request.form.items() if name.endswith(PICKED_SUFFIX)}


def _resolve_references(
    pages_of: RecordPages, data: dict[str, Any], custom: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` and ``custom`` with each record picker's typed name or id resolved to its record's id (the
    form works without JavaScript); unknown or ambiguous names raise one ValidationError for them all."""
    from saas.modules.core import custom_fields

    session = current_tenant_session()
    entity = pages_of.service.model.__tablename__
    definitions = custom_fields.list_fields(session, entity) if custom_fields.takes_fields(entity) else []
    slots = [(data, f.name, f.name, f.record_type) for f in pages_of.fields if f.kind == "record"]
    slots += [
        (custom, key, f"{custom_fields.PREFIX}{key}", d.reference)
        for d in definitions
        if d.field_type == "reference"
        for key in [custom_fields.key_of(d)]
    ]
    errors: dict[str, list[str]] = {}
    candidates: dict[str, list[pickers.Pick]] = {}
    for values, key, name, table in slots:
        typed = f"{name}{PICKED_SUFFIX}"
        if typed not in request.form:
            continue
        record_type = pickers.pickable_type(session, table, _enabled_modules())
        try:
            current = str(values.get(key) or "")
            found = pickers.resolve(session, record_type, key, request.form[typed], current)
        except ValidationError as error:
            errors |= error.errors
            candidates[key] = getattr(error, "candidates", [])
            continue
        # A custom field takes its value as the form posts it: the id's text, empty for none.
        values[key] = found if values is data else str(found or "")
    if errors:
        raise pickers.Ambiguous(gettext("Please correct the marked fields."), errors, candidates)
    return data, custom


def picked_labels(pages_of: RecordPages, values: dict[str, Any]) -> dict[str, str]:
    """The label each record picker shows for the id in ``values`` (the form's current choice)."""
    session = current_tenant_session()
    labels = {}
    for f in pages_of.fields:
        if f.kind == "record" and values.get(f.name):
            record_type = pickers.pickable_type(session, f.record_type, _enabled_modules())
            labels[f.name] = pickers.label_for(session, record_type, values[f.name]) or ""
    return labels


def render_form(
    pages_of: RecordPages,
    values: dict[str, Any],
    record_id: uuid.UUID | None,
    *,
    errors: dict[str, Any] | None = None,
    message: str | None = None,
    candidates: dict[str, list[pickers.Pick]] | None = None,
):
    """The record form, its pickers showing their records' names (or what was typed, after an error)."""
    return render_template(
        "core/record_form.html", pages=pages_of, values=values, errors=errors or {}, message=message,
        record_id=record_id, picked=picked_labels(pages_of, values), candidates=candidates or {},
        picked_suffix=PICKED_SUFFIX,
    )  # fmt: skip


def _save(pages_of: RecordPages, record_id: uuid.UUID | None):
    """Validate the posted form and create or update; re-render the form with messages on error."""
    from saas.modules.core.views.custom_fields import save_custom_values, split_custom_form

    data = _form_data(pages_of)
    session = current_tenant_session()
    if record_id is not None:
        pages_of.service.get(session, record_id)  # an unknown id is a 404 before any validation
    data, custom = split_custom_form(pages_of, data, request.form)
    try:
        data, custom = _resolve_references(pages_of, data, custom)
        loaded = load_form(
            pages_of.schema_in(), on_readers_clock(pages_of.fields, data), "Please correct the marked fields."
        )
        if record_id is None:
            record = pages_of.service.create(session, loaded)
        else:
            record = pages_of.service.update(session, record_id, loaded)
        save_custom_values(pages_of, record.id, custom, creating=record_id is None)
    except ValidationError as error:
        posted = data | {f"cf_{key}": value for key, value in custom.items()} | _typed_references()
        return render_form(
            pages_of, posted, record_id, errors=error.errors, message=error.detail,
            candidates=getattr(error, "candidates", None),
        ), 422  # fmt: skip
    flash(gettext(pages_of.words.saved))
    return redirect(url_for(pages_of.endpoint("show"), record_id=record.id))


def _list_filters(pages_of: RecordPages) -> dict[str, Any]:
    """The list page's filters from the query string; empty inputs mean "any"."""
    if pages_of.filters is None:
        return {}
    schema = pages_of.filters()
    given = {name: value for name, value in request.args.items() if name in schema.fields and value != ""}
    return load_form(schema, given, "Please correct the filters.")


def load_form(schema: marshmallow.Schema, data: dict[str, Any], detail: str) -> dict[str, Any]:
    """Load form input with a schema; its messages become a :class:`ValidationError` for the page."""
    try:
        return schema.load(data)
    except marshmallow.ValidationError as error:
        raise ValidationError(detail, error.normalized_messages()) from error


def render_detail(
    pages_of: RecordPages,
    record: Any,
    *,
    activity_form: dict | None = None,
    status: int = 200,
    **context: Any,
):
    """The detail page, with the record's timeline and its "add activity" form when it has one."""
    extra = {**(pages_of.detail_context(record) if pages_of.detail_context else {}), **context}
    extra["record_links"] = record_links(pages_of.service.model.__tablename__)
    extra["record_panels"] = record_panels(pages_of.service.model.__tablename__, record)
    extra["properties"] = record_properties(pages_of, record)
    extra["related"] = related_lists(pages_of.service.model.__tablename__, record)
    if pages_of.timeline is not None:
        session = current_tenant_session()
        extra["timeline"] = activities.list(
            session, cursor=request.args.get("timeline_cursor"), **pages_of.timeline.entries(record)
        )
        extra["activity_kinds"] = LOGGED_KINDS
        extra["activity_form"] = activity_form or {"values": {}, "errors": {}}
        extra["people"] = workspace_people()
    return render_template(pages_of.detail_template, pages=pages_of, record=record, **extra), status


def _log_activity(pages_of: RecordPages, record_id: uuid.UUID):
    """Log a note, call, meeting or email on the record's timeline from its detail page."""
    session = current_tenant_session()
    record = pages_of.service.get(session, record_id)
    data = {name: request.form.get(name, "") for name in ("kind", "subject", "body", "occurred_at")}
    try:
        loaded = load_form(
            schemas.ActivityIn(), on_readers_clock(ACTIVITY_FIELDS, data), "Please correct the activity."
        )
        activities.create(session, {**loaded, **pages_of.timeline.links(record)})
    except ValidationError as error:
        form = {"values": data, "errors": error.errors, "message": error.detail}
        return render_detail(pages_of, record, activity_form=form, status=422)
    flash(gettext("Added to the timeline."))
    return redirect(url_for(pages_of.endpoint("show"), record_id=record_id, _anchor="timeline"))


def list_page(pages_of: RecordPages):
    """A record type's list: search, filters, sort, columns, saved views, keyset pages."""
    from saas.modules.core.views.custom_fields import list_conditions

    q = (request.args.get("q") or "").strip()[:200] or None
    page, message, errors = services.Page([], None), None, {}
    available, shown = columns_of(pages_of)
    try:
        filters = _list_filters(pages_of)
        page = pages_of.service.list(
            current_tenant_session(), q=q, cursor=request.args.get("cursor"),
            where=list_conditions(pages_of), sort=request.args.get("sort") or None, **filters,
        )  # fmt: skip
    except ValidationError as error:  # a bad filter, sort or cursor: say so above an empty list
        message, errors = error.detail, error.errors
    next_url = page.next_cursor and url_for(
        pages_of.endpoint("list"), **{**list_arguments(), "cursor": page.next_cursor}
    )
    return render_template(
        pages_of.list_template, pages=pages_of, page=page, q=q or "", args=request.args,
        next_url=next_url, message=message, errors=errors, available_columns=available,
        columns=shown, flagged=prepare_rows(pages_of, page.data, shown), sort_link=sort_link,
        list_arguments=list_arguments,
    ), 422 if message else 200  # fmt: skip


NOT_FILTERS = frozenset({"cursor", "sort", "columns", "limit", "view"})
"""List arguments no chip shows (a named ``view``, such as "my tickets", has links of its own); removing a
chip keeps them, but not the cursor."""


@dataclass(frozen=True)
class FilterChip:
    """An active filter of a list, shown as a chip whose link is the same list without it."""

    name: str
    label: str
    value: str
    remove_url: str


def _chip_value(session: Any, name: str, value: str) -> str:
    """A filter's value as a person reads it: an id as the name of the record or member it stands for."""
    try:
        record_id = uuid.UUID(value)
    except ValueError:
        return value
    table = "users" if name.endswith("user_id") or name == "owner" else name.removesuffix("_id") + "s"
    if registry.labels_records(table):
        return registry.record_labels(session, table, [record_id]).get(record_id, value)
    return value


@pages.app_template_global()
def filter_chips(pages_of: Any) -> list[FilterChip]:
    """The list page's active filters (search, its own filters, custom fields), each removable alone."""
    from saas.modules.core import custom_fields

    session = current_tenant_session()
    entity = pages_of.service.model.__tablename__
    labels = {"q": gettext("Search")}
    if any(name.startswith(custom_fields.PREFIX) for name in request.args):
        for definition in custom_fields.list_fields(session, entity):
            labels[f"{custom_fields.PREFIX}{custom_fields.key_of(definition)}"] = definition.label
    record_type = registry.record_type(session, entity)
    named = record_type.value_labels if record_type is not None and record_type.value_labels else None
    pairs = [(name, value) for name, value in request.args.items(multi=True) if name != "cursor"]
    list_url = url_for(pages_of.endpoint("list"))
    return [
        FilterChip(
            name,
            labels.get(name, name.removesuffix("_id").removesuffix("_user").replace("_", " ").capitalize()),
            (named(name) if named else {}).get(value) or _chip_value(session, name, value),
            list_url + _query(pairs[:index] + pairs[index + 1 :]),
        )
        for index, (name, value) in enumerate(pairs)
        if name not in NOT_FILTERS and value
    ]


def _query(pairs: list[tuple[str, str]]) -> str:
    return f"?{urlencode(pairs)}" if pairs else ""


def new_page(pages_of: RecordPages):
    if request.method == "POST":
        return _save(pages_of, None)
    from saas.modules.core.views.custom_fields import default_form_values

    # Custom fields' defaults show in the form; links may prefill a new record ("new task" on a deal
    # page passes deal_id).
    values = default_form_values(pages_of)
    values |= {f.name: request.args[f.name] for f in pages_of.fields if f.name in request.args}
    return render_form(pages_of, values, None)


def show_page(pages_of: RecordPages, record_id: uuid.UUID):
    return render_detail(pages_of, pages_of.service.get(current_tenant_session(), record_id))


def edit_page(pages_of: RecordPages, record_id: uuid.UUID):
    from saas.modules.core.views.custom_fields import form_values

    if request.method == "POST":
        return _save(pages_of, record_id)
    record = pages_of.service.get(current_tenant_session(), record_id)
    values = {f.name: f.form_value(record) for f in pages_of.fields} | form_values(pages_of, record_id)
    return render_form(pages_of, values, record_id)


def delete_page(pages_of: RecordPages, record_id: uuid.UUID):
    pages_of.service.delete(current_tenant_session(), record_id)
    flash(gettext(pages_of.words.deleted))
    return redirect(url_for(pages_of.endpoint("list")))


# The record page's related records: what points at it by a foreign key --------------------------------

RELATED_SHOWN = 5
"""Records of each related type a record's page lists; a count says how many more there are."""


@dataclass(frozen=True)
class RelatedList:
    """Records of one type that point at the record (a contact's deals, an account's contacts)."""

    title: str
    record_type: RecordType
    records: list[tuple[uuid.UUID, str]]
    total: int
    add_url: str | None
    """A new record of the type already pointing at this one, where its form takes the field."""


def _pointing_columns(model: Any, table: str) -> list[Any]:
    """``model``'s columns with a foreign key to ``table``, directly or through a link table
    (``deal_contacts``), as (column of the model's ids, the condition's column, link table or None)."""
    found = [
        (model.__table__.c.id, fk.parent, None)
        for fk in model.__table__.foreign_keys
        if fk.column.table.name == table
    ]
    for link in TenantBase.metadata.sorted_tables:
        keys = list(link.foreign_keys)
        targets = {fk.column.table.name: fk.parent for fk in keys}
        if (
            len(keys) == 2
            and table in targets
            and model.__tablename__ in targets
            and link.name != model.__tablename__
        ):
            found.append((targets[model.__tablename__], targets[table], link))
    return found


def _record_name(record: Any, names: dict[uuid.UUID, str]) -> str:
    for attribute in ("display_name", "name", "subject", "title"):
        if record.id in names:
            return names[record.id]
        value = getattr(record, attribute, None)
        if value:
            return str(value)
    return str(record.id)


def _add_url(record_type: RecordType, column: Any, record_table: str, record_id: uuid.UUID) -> str | None:
    """The type's "new" page with the reference prefilled (``/deals/new?account_id=``): only for a plain
    reference named after this record's type (``account_id``), the field a record form takes."""
    if column.name != f"{record_table.removesuffix('s')}_id":
        return None
    endpoint = record_type.endpoint.replace(".show_", ".new_", 1)
    try:
        return url_for(endpoint, **dict(record_type.endpoint_args), **{column.name: record_id})
    except BuildError:
        return None


def related_lists(record_table: str, record: Any) -> list[RelatedList]:
    """Every record type of the enabled modules with records pointing at ``record`` (by any of its
    references), or that may be added pointing at it: a few of each, newest first, how many there are, and
    a link to add one."""
    from saas.modules.core.objects import record_names

    session = current_tenant_session()
    lists = []
    for record_type in registry.record_types(session, _enabled_modules()):
        if record_type.service is None or record_type.table == record_table:
            continue
        model: Any = record_type.service().model
        paths = _pointing_columns(model, record_table)
        if not paths:
            continue
        condition = or_(
            *(
                model.id.in_(select(ids).where(column == record.id))
                if link is not None
                else column == record.id
                for ids, column, link in paths
            )
        )
        add_url = next(
            (
                url
                for _, column, link in paths
                if link is None and (url := _add_url(record_type, column, record_table, record.id))
            ),
            None,
        )
        total = session.scalar(select(func.count()).select_from(model).where(condition))
        if not total and add_url is None:
            continue
        rows = session.scalars(
            select(model).where(condition).order_by(model.created_at.desc()).limit(RELATED_SHOWN)
        ).all()
        names = record_names(session, record_type.table, [row.id for row in rows])
        shown = [(row.id, _record_name(row, names)) for row in rows]
        lists.append(RelatedList(gettext(record_type.plural), record_type, shown, total, add_url))
    return lists


# The record page's properties panel: each property shown, and saved in place --------------------------


@dataclass(frozen=True)
class Property:
    """One field of a record as its page's properties panel shows and edits it in place."""

    name: str
    """The form's input name: the field's, or ``cf_<key>`` for a custom field."""
    label: str
    kind: str
    """An input type, ``textarea``, ``select``, ``multiple`` or ``boolean`` (a yes/no select)."""
    value: Any
    """The stored value as the input expects it."""
    shown: Any
    """What the page reads (a name for an id, the phone in the reader's format); ``None`` or "" shows —."""
    choices: tuple[tuple[Any, str], ...] = ()
    link: str | None = None
    """Where the shown value leads (the account of a contact)."""
    step: str | None = None
    help_text: str | None = None


def _shown(form_field: FormField, record: Any) -> Any:
    if form_field.show is not None:
        return form_field.show(record)
    value = getattr(record, form_field.name)
    if form_field.kind == "record" and value is not None:  # a picker's field: the record's name, not its id
        return reference_label(form_field.record_type, value) or value
    if form_field.kind == "select" and form_field.choices is not None:
        labels = {str(key): label for key, label in form_field.choices()}
        values = value if isinstance(value, list | tuple) else [value]
        return ", ".join(labels.get(str(one), str(one)) for one in values if one not in (None, ""))
    return value


def _link(form_field: FormField, record: Any) -> str | None:
    """A reference's page: the record the field points at, found through the registry by its table."""
    if form_field.name == "account_id" and getattr(record, "account_id", None):
        return url_for("core.show_accounts", record_id=record.account_id)
    return None


def _with_blank(kind: str, choices: tuple[tuple[Any, str], ...]) -> tuple[tuple[Any, str], ...]:
    """A single select's choices with a way to clear it ("—") unless it has one ("— nobody —")."""
    if kind != "select" or any(value in ("", None) for value, _ in choices):
        return choices
    return (("", "—"), *choices)


def record_properties(pages_of: RecordPages, record: Any) -> list[Property]:
    """The record's fields, then its custom fields, as its properties panel shows them."""
    from saas.modules.core.views.custom_fields import _custom_inputs, _custom_values, form_values

    properties = [
        Property(
            f.name,
            gettext(f.label),
            "multiple" if f.multiple else f.kind,
            f.form_value(record),
            _shown(f, record),
            _with_blank(f.kind, tuple(f.choices()) if f.choices else ()),
            _link(f, record),
            f.step,
        )
        for f in pages_of.fields
    ]
    stored = form_values(pages_of, record.id)
    shown = _custom_values(pages_of, record)
    for (definition, name, kind), (_, value) in zip(_custom_inputs(pages_of), shown, strict=True):
        choices: tuple = ()
        if kind in ("select", "multiple"):
            choices = tuple((option, option) for option in definition.options or ())
        elif kind == "reference":
            from saas.modules.core.views.objects import reference_choices

            kind, choices = "select", tuple(reference_choices(definition.reference or ""))
        stored_value = stored.get(name)
        if kind == "boolean":
            stored_value = {True: "yes", False: "no"}.get(stored_value, "")
        properties.append(
            Property(
                name,
                definition.label,
                kind,
                stored_value,
                value,
                _with_blank(kind, choices),
                help_text=definition.help_text,
            )
        )
    return properties


def _posted_property() -> tuple[str, Any]:
    """The property a page's inline edit sends: JSON ``{"name", "value"}`` (or the same as form fields)."""
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return str(body.get("name") or ""), body.get("value")
    values = request.form.getlist("value")
    return request.form.get("name", ""), values if len(values) > 1 else request.form.get("value")


def save_property(pages_of: RecordPages, record_id: uuid.UUID):
    """Save one property of a record from its page (the inline edit): the same validation and service as the
    edit form. Answers JSON with the property as now shown, or a problem with the field's messages; without
    script the panel's links lead to the edit form instead."""
    from saas.modules.core import custom_fields
    from saas.modules.core.views.custom_fields import save_custom_values
    from saas.web.errors import problem

    session = current_tenant_session()
    record = pages_of.service.get(session, record_id)  # an unknown id is a 404 before any validation
    name, value = _posted_property()
    editable = {prop.name: prop for prop in record_properties(pages_of, record)}
    if name not in editable:
        message = gettext("This field cannot be changed here.")
        return problem(422, "Unknown field", message, errors={name or "name": [message]})
    kind = editable[name].kind
    if kind == "multiple" and not isinstance(value, list):
        value = [value] if value not in (None, "") else []
    try:
        if name.startswith(custom_fields.PREFIX):
            key = name.removeprefix(custom_fields.PREFIX)
            if kind == "boolean":
                value = {"yes": True, "no": False}.get(value or "")
            try:
                save_custom_values(pages_of, record.id, {key: value}, creating=False)
            except ValidationError as error:  # its messages name the key; the page's input is cf_<key>
                raise ValidationError(
                    error.detail, {name: error.errors.get(key) or [error.detail]}
                ) from error
        else:
            loaded = load_form(
                pages_of.schema_in(partial=True),
                on_readers_clock(pages_of.fields, {name: value}),
                "Please correct the marked fields.",
            )
            pages_of.service.update(session, record_id, loaded)
    except ValidationError as error:
        messages = {field: [translate(m) for m in found] for field, found in error.errors.items()}
        return problem(422, "Invalid input", translate(error.detail), errors=messages)
    session.flush()
    record = pages_of.service.get(session, record_id)
    saved = {prop.name: prop for prop in record_properties(pages_of, record)}[name]
    shown_html = get_template_attribute("core/_properties.html", "property_value")(saved)
    return jsonify(name=name, value=_json_value(saved.value), shown=str(shown_html))


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    return value if value is None or isinstance(value, str | int | float | bool | list) else str(value)


RECORD_PAGE_RULES = (
    ("", "list", list_page, ["GET"]),
    ("/new", "new", new_page, ["GET", "POST"]),
    ("/<uuid:record_id>", "show", show_page, ["GET"]),
    ("/<uuid:record_id>/edit", "edit", edit_page, ["GET", "POST"]),
    ("/<uuid:record_id>/delete", "delete", delete_page, ["POST"]),
    ("/<uuid:record_id>/activities", "log_activity", _log_activity, ["POST"]),
    ("/<uuid:record_id>/property", "save_property", save_property, ["POST"]),
)
"""The pages of a record type under its URL prefix: (path, action, view of ``pages_of``, methods)."""


def register_record_pages(blueprint: Blueprint, pages_of: RecordPages) -> None:
    """The list, form, detail, delete and timeline pages of one built-in record type at ``/<plural>``."""
    register_columns(pages_of.service.model.__tablename__, tuple(column.key for column in pages_of.columns))
    for path, action, view, methods in RECORD_PAGE_RULES:
        if action == "log_activity" and pages_of.timeline is None:
            continue
        name = pages_of.endpoint(action).split(".", 1)[1]
        blueprint.add_url_rule(
            f"/{pages_of.plural}{path}", name, bound_view(view, name, pages_of), methods=methods
        )


def bound_view(view: Callable[..., Any], name: str, *bound: Any) -> Callable[..., Any]:
    """``view`` with its first arguments given, named ``name`` (extensions such as CSRF read the name)."""

    def serve(**arguments: Any) -> Any:
        return view(*bound, **arguments)

    serve.__name__ = serve.__qualname__ = name
    return serve


def _enabled_modules() -> set[str]:
    """The modules on for the request's workspace, read once per request (links and panels both ask)."""
    if "enabled_modules" not in g:
        g.enabled_modules = enabled_module_keys(db.session, g.tenant.id)
    return g.enabled_modules


def record_links(record_type: str) -> list[RecordLink]:
    """What the enabled modules link to from a record's page (its consents...), in registry order."""
    enabled = _enabled_modules()
    return [
        link
        for module in registry
        if module.key in enabled
        for link in module.record_links
        if link.record_type == record_type
    ]


def record_panels(table: str, record: Any) -> list[tuple[str, dict[str, Any]]]:
    """The sections enabled modules add to a record's page (its files...): (template, its ``panel``)."""
    session = current_tenant_session()
    enabled = _enabled_modules()
    record_type = registry.record_type(session, table, enabled)
    if record_type is None:
        return []
    shown = []
    for panel in registry.record_panels(record_type, enabled):
        context = panel.context(session, record_type, record)
        if context is not None:
            shown.append((panel.template, context))
    return shown


def workspace_people() -> dict[uuid.UUID, str]:
    """The workspace's members by user id (their email), read once per request."""
    if "workspace_people" not in g:
        g.workspace_people = dict(workspace_members(db.session, g.tenant.id))
    return g.workspace_people


def member_choices() -> list[tuple[Any, str]]:
    """Choices of an owner/assignee select: members, the signed-in one first (the default), or nobody."""
    me = g.membership.user_id
    members = [
        (user_id, gettext("%(email)s (you)", email=email) if user_id == me else email)
        for user_id, email in workspace_people().items()
    ]
    members.sort(key=lambda choice: choice[0] != me)
    return [*members, ("", gettext("— nobody —"))]


def _contact_score(contact: Contact) -> str:
    """Rule points (scoring.py); empty until the first scoring."""
    return "" if contact.rule_score is None else gettext("%(points)d points", points=contact.rule_score)


CONTACT_PAGES = RecordPages(
    service=services.contacts,
    schema_in=schemas.ContactIn,
    singular="contact",
    plural="contacts",
    fields=(
        FormField("first_name", N_("First name")),
        FormField("last_name", N_("Last name")),
        FormField("email", N_("Email"), "email"),
        PHONE_FIELD,
        FormField("title", N_("Job title")),
        FormField("account_id", N_("Account"), "record", record_type="accounts"),
        FormField("notes", N_("Notes"), "textarea"),
    ),
    columns=(
        ListColumn(N_("Name"), lambda c: c.display_name, "name", sort="name"),
        ListColumn(N_("Email"), lambda c: c.email, "email", sort="email"),
        ListColumn(N_("Account"), lambda c: c.account.name if c.account else "", "account"),
        phone_column(),
        ListColumn(N_("Job title"), lambda c: c.title, "title", sort="title", shown=False),
        ListColumn(N_("Score"), _contact_score, "rule_score", sort="rule_score"),
        *TIMESTAMP_COLUMNS,
    ),
    filters=schemas.ContactFilters,
    list_template="core/contacts_list.html",
    detail_template="core/contact_detail.html",
    detail_context=lambda contact: {"score_factor_labels": scoring.factor_labels()},
    timeline=Timeline(entries=lambda c: {"contact_id": c.id}, links=lambda c: {"contact_id": c.id}),
    words=RecordWords(
        N_("Contact"),
        N_("Contacts"),
        N_("New contact"),
        N_("Edit contact"),
        N_("Delete contact"),
        N_("Delete this contact?"),
        N_("Search contacts"),
        N_("No contacts yet."),
        N_("No contacts match “%(query)s”."),
        N_("Contact saved."),
        N_("Contact deleted."),
        N_("Another contact looks like the same one"),
    ),
)

ACCOUNT_PAGES = RecordPages(
    service=services.accounts,
    schema_in=schemas.AccountIn,
    singular="account",
    plural="accounts",
    fields=(
        FormField("name", N_("Name"), required=True),
        FormField("domain", N_("Web domain")),
        FormField("industry", N_("Industry")),
        PHONE_FIELD,
        FormField("notes", N_("Notes"), "textarea"),
    ),
    columns=(
        ListColumn(N_("Name"), lambda a: a.name, "name", sort="name"),
        ListColumn(N_("Domain"), lambda a: a.domain, "domain", sort="domain"),
        ListColumn(N_("Industry"), lambda a: a.industry, "industry", sort="industry"),
        phone_column(),
        *TIMESTAMP_COLUMNS,
    ),
    timeline=Timeline(entries=lambda a: {"account_id": a.id}, links=lambda a: {"account_id": a.id}),
    words=RecordWords(
        N_("Account"),
        N_("Accounts"),
        N_("New account"),
        N_("Edit account"),
        N_("Delete account"),
        N_("Delete this account?"),
        N_("Search accounts"),
        N_("No accounts yet."),
        N_("No accounts match “%(query)s”."),
        N_("Account saved."),
        N_("Account deleted."),
        N_("Another account looks like the same one"),
    ),
)

register_record_pages(pages, CONTACT_PAGES)
register_record_pages(pages, ACCOUNT_PAGES)


@pages.route("/")
def dashboard():
    # Every module's cards (registry ``dashboard`` hooks) and the onboarding checklist: the shared shell's.
    from saas.web.workspace import render_dashboard

    return render_dashboard()
