"""The one registry modules plug into.

Each package under ``saas/modules/`` exposes ``MODULE`` in its ``module.py``. Navigation, routing,
privacy and export iterate this registry; nothing else names a module.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint
from sqlalchemy import Select
from sqlalchemy.orm import Session

import saas.modules
from saas.errors import ValidationError
from saas.i18n import N_

if TYPE_CHECKING:
    from saas.modules.core.scoring import ScoreRule


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    params: tuple[tuple[str, str], ...] = ()
    """The URL's arguments (a saved report's query), as pairs so the entry stays hashable."""
    group: str = ""
    """The sidebar's area the entry sits in: a key of ``NAV_GROUPS`` (``sales``); empty for links that
    are not in the sidebar (a dashboard card's "See the pipeline")."""


@dataclass(frozen=True)
class NavGroup:
    """An area of the workspace's sidebar; modules place their entries in one by its key."""

    key: str
    label: str
    """Marked with ``N_``: translated where shown."""


NAV_GROUPS = (
    NavGroup("records", N_("Contacts & accounts")),
    NavGroup("sales", N_("Sales")),
    NavGroup("marketing", N_("Marketing")),
    NavGroup("service", N_("Service")),
    NavGroup("inbox", N_("Mail & calendar")),
    NavGroup("automation", N_("Automation")),
    NavGroup("reports", N_("Reports")),
    NavGroup("settings", N_("Settings")),
)
"""The sidebar's areas in the order shown; an area with no entry for the workspace is left out."""


@dataclass(frozen=True)
class SettingsPage:
    """A page of settings, linked from the settings hub (``/t/<slug>/settings``) in its module's group."""

    label: str
    endpoint: str
    """A page of the workspace (``url_for(endpoint)`` needs no argument but the slug)."""
    description: str = ""
    """One line of what is set there, under the link."""


@dataclass(frozen=True)
class RecordLink:
    """A link a module adds to the detail page of a record it does not own (a contact's consents)."""

    record_type: str
    """The record's table (``contacts``)."""
    label: str
    endpoint: str
    id_arg: str
    """The endpoint's argument that takes the record's id."""
    composer: bool = False
    """Offered in the timeline's composer too, beside a note, call, meeting and email (a new task)."""


@dataclass(frozen=True)
class RecordType:
    """A kind of record people create, list and open: a built-in one (contacts, deals) or a workspace's own
    custom object. Files, saved views, reports and automation reach records through these, never by a
    module's name."""

    table: str
    """The record's table in the tenant schema (``deals``, ``co_vehicle``); also its key in URLs and rows
    that point at a record of any type (``record_type``)."""
    singular: str
    """Marked with ``N_`` for built-in types (translated where shown); a custom object's own name."""
    plural: str
    endpoint: str
    """The record's detail page; ``url_for(endpoint, **record_type.detail_arguments(id))``."""
    id_arg: str = "record_id"
    endpoint_args: tuple[tuple[str, str], ...] = ()
    service: Callable[[], Any] | None = None
    """The record type's ``RecordService`` (imported lazily: modules build on core)."""
    list_query: Callable[[], Any] | None = None
    """The marshmallow schema of its list's query parameters (API and page), for saved views."""
    import_target: Callable[[], Any] | None = None
    """Its CSV import: a ``core.imports.ImportTarget`` (fields, schema, dedupe rule), imported lazily like
    ``service``; None: not importable. Custom objects are importable without one (core builds theirs)."""
    money_fields: tuple[tuple[str, str], ...] = ()
    """``(amount column, currency column)`` pairs: reports sum and average these in the workspace's base
    currency, converting each record's amount at its currency's latest rate."""
    import_names: Callable[[Session, dict[str, Any]], dict[str, Any]] | None = None
    """Turns the names a record brought from another CRM carries into ours (a deal's ``pipeline`` and
    ``stage`` names into ids, creating what is missing), before its service creates it."""
    value_labels: Callable[[str], dict[str, str]] | None = None
    """The reader's names of the stored values of a field with fixed choices (a lead's ``status``), given
    the field's name (an empty dict for other fields); called where a request's language is known."""
    timeline_subject: str | None = None
    """The ``subject_type`` of timeline entries about a record of this type (``deal``); None: none."""
    module: str = ""
    """The module that owns it; filled in by the registry."""

    def detail_arguments(self, record_id: uuid.UUID) -> dict[str, Any]:
        """The arguments of ``url_for(self.endpoint, ...)`` for one record."""
        return {**dict(self.endpoint_args), self.id_arg: record_id}


RecordTypes = Callable[[Session], list[RecordType]]
"""A module's record types that exist only in some workspaces (custom objects), read from the session."""


@dataclass(frozen=True)
class RecordList:
    """Lists a module keeps records on (marketing's static lists of contacts): a list page's bulk action
    adds the selected records to one."""

    record_types: tuple[str, ...]
    """Tables whose records the lists take (``contacts``)."""
    choices: Callable[[Session], list[tuple[uuid.UUID, str]]]
    """``(id, name)`` of the lists records may be added to now."""
    add: Callable[[Session, uuid.UUID, list[uuid.UUID]], int]
    """Adds records (ids) to a list; returns how many were new on it."""


@dataclass(frozen=True)
class RecordPanel:
    """A section a module adds to the detail page of records (files, related records), shown while the
    module is on. Its template gets ``panel`` (what ``context`` returned) and ``record``."""

    template: str
    context: Callable[[Session, RecordType, Any], dict[str, Any]]
    """``session, record type, record`` -> the template's ``panel``; None-valued means "nothing to show"."""
    record_types: tuple[str, ...] = ()
    """Tables it shows on; empty means every record type."""
    order: int = 100


@dataclass(frozen=True)
class SearchHit:
    """One record found by the global search; the page links it with ``url_for(endpoint, **params)``."""

    kind: str
    """What the record is, singular and capitalised (``Contact``, ``Deal``, ``Ticket``)."""
    title: str
    endpoint: str
    params: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    """A second line that tells equal titles apart (an email, a company, an amount)."""
    group: str = ""
    """The search page's heading over such records (``Contacts``), marked with ``N_`` so it is translated
    where shown; empty means the kind with an ``s``."""


@dataclass(frozen=True)
class Series:
    """One named row of a chart's figures, one value per label of its card."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class DashboardCard:
    """A chart on the tenant dashboard, always shown with its figures as a table too.

    ``kind`` is ``bar`` (grouped bars, one group per label) or ``line``. An empty card (every value 0)
    shows ``empty`` instead of a chart, so a new workspace sees what will appear there.
    """

    key: str
    """Unique and stable: ``<module>.<name>`` (``sfa.pipeline``); the page's anchor and test hook."""
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    kind: str = "bar"
    unit: str = ""
    """What the values count (``EUR``, ``leads``), shown in the table header and the chart's label."""
    summary: str = ""
    """One sentence of the card's main figure (``3 open deals worth 12,000.00 EUR``)."""
    link: NavEntry | None = None
    """Where the card's records are (``See the pipeline``)."""
    empty: str = "Nothing here yet."
    order: int = 100
    """Cards are shown by ``order`` then ``key``."""


@dataclass(frozen=True)
class HubSection:
    """A part of the customer hub's page (``/hub/<slug>/``), the one place a workspace's end customers
    sign in to: the hub shows it, under ``title`` in ``<section id="hub-<key>">``, while its module is on.

    The hub renders ``template`` with ``section`` (this declaration) and ``data`` (what ``load`` returned).
    """

    key: str
    """Unique and stable (``tickets``, ``consents``, ``chats``): the section's anchor ``hub-<key>``."""
    title: str
    """The section's heading, marked with ``N_`` so it is translated where shown."""
    template: str
    """A template of the section's body (its heading is the hub's), rendered in the hub's page."""
    load: Callable[[Session, uuid.UUID | None], dict]
    """What the template shows (``session, contact_id``): the signed-in contact's own records only;
    ``contact_id`` is ``None`` on the start page, before sign-in."""
    signed_out: bool = False
    """Shown on the start page too, to anyone (the published knowledge base)."""
    order: int = 100
    """Sections are shown by ``order`` then ``key``."""


@dataclass(frozen=True)
class SegmentField:
    """A field segment rules may test whose data another module owns (``website_page``: pages a contact
    viewed), offered on the segment page beside marketing's own fields while that module is installed."""

    key: str
    label: str
    """Marked with ``N_``; translated where shown."""
    ops: tuple[tuple[str, str], ...]
    """``(op, label)`` pairs the field takes, labels marked with ``N_``."""
    condition: Callable[[str, Any, datetime], Any]
    """``op, value, now`` -> a SQL condition on ``contacts.id`` (correlated: ``EXISTS (...)``)."""
    check: Callable[[str, Any], list[str]]
    """``op, value`` -> what is wrong with the value (empty: nothing)."""


@dataclass(frozen=True)
class ReportSource:
    """Figures a module offers the report builder beside record types (marketing's attribution): the rows
    of a query with named columns, grouped, filtered, counted and summed as records are. Reports, saved
    reports and dashboard cards name it by ``key`` where they would name a record type's table."""

    key: str
    """Unique and stable, ``<module>.<name>`` (``marketing.attribution``): never a table's name."""
    label: str
    """Marked with ``N_``; translated where shown (the report page's "Records" choice)."""
    rows: Callable[[Session], Any]
    """``session`` -> a ``Select`` whose columns include every field below: one row per thing counted."""
    groupable: tuple[tuple[str, str], ...]
    """``(column, label)`` of the fields a report groups and filters by, labels marked with ``N_``."""
    summable: tuple[tuple[str, str], ...] = ()
    """``(column, label)`` of the numeric fields a report sums or averages, labels marked with ``N_``."""
    money_fields: tuple[tuple[str, str], ...] = ()
    """``(amount column, currency column)`` pairs, converted into the base currency as records' are."""
    value_labels: Callable[[str], dict[str, str]] | None = None
    """The reader's names of a field's stored values (``first_touch``), given the field's name; called
    where a request's language is known."""
    module: str = ""
    """The module that declares it; filled in by the registry."""


@dataclass(frozen=True)
class ScoreSignal:
    """Rule points a contact earns from one kind of a module's data (website visits, opened campaign
    emails), added to the contact's score (``saas.modules.core.scoring``) while the module is on."""

    rule: ScoreRule
    """The feature's name, points per unit and cap."""
    label: str
    """Marked with ``N_``; translated where shown (the score's factors)."""
    count: Callable[[datetime], Any]
    """``now`` -> a SQL count correlated on ``contacts.id`` (``SELECT count(*) ... WHERE x.contact_id =
    contacts.id``), for one UPDATE of every contact."""


RecordLabels = Callable[[Session, Collection[uuid.UUID]], dict[uuid.UUID, str]]
"""The names a person reads for records of one type, by id (``session, ids``); unknown ids are left out."""


@dataclass(frozen=True)
class DataSubject:
    """The person a privacy hook works on: their contact id and, while known, their email.

    Taken before any module erases anything, so hooks may run in any order.
    """

    contact_id: uuid.UUID
    email: str | None


@dataclass(frozen=True)
class ImportedConsent:
    """A consent choice a file from another CRM carries for one of our contacts (an unsubscribe flag)."""

    contact_id: uuid.UUID
    purpose: str
    """The purpose's key (``email_marketing``)."""
    status: str
    """``granted`` or ``withdrawn``."""
    occurred_at: datetime | None
    """When the person chose, if the file says; None: unknown (the import's time is recorded)."""


RECIPIENT_EMAIL_DELIVERY = N_("Email delivery (the service's outgoing mail provider)")
RECIPIENT_FILE_STORAGE = N_("File storage (object storage in %(region)s)")
RECIPIENT_OWN_MAIL = N_("Your members' own mail servers")
RECIPIENT_OWN_CALENDARS = N_("Your members' own calendars")
RECIPIENT_CONNECTED_SYSTEMS = N_("Systems you connect (API clients, webhook endpoints)")
"""Recipients activities name (marked with ``N_``; ``%(region)s`` is the workspace's region when shown)."""

SUBJECT_CONTACTS = N_("Contacts (customers, prospects and their people)")
SUBJECT_MEMBERS = N_("Workspace members")
SUBJECT_VISITORS = N_("Website visitors")
"""Categories of data subjects activities name (marked with ``N_``)."""

CATEGORY_CONTACT_DETAILS = N_("Contact details (name, email, phone, address, job title, company)")
CATEGORY_EMAIL_ENGAGEMENT = N_("Emails sent and their opens and clicks")
"""Categories of personal data several activities name (marked with ``N_``)."""


@dataclass(frozen=True)
class ProcessingActivity:
    """Something a module does with personal data, as the workspace's records of processing (GDPR Art. 30)
    list it while the module is on. Texts are marked with ``N_`` and translated where shown."""

    name: str
    purpose: str
    data_subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    legal_basis: str = ""
    """Where the module knows it (a legal obligation); empty: the workspace states its own."""
    consent_purposes: tuple[str, ...] = ()
    """Keys of consent purposes (``email_marketing``) whose recorded consent is the legal basis."""
    recipients: tuple[str, ...] = ()
    """Who receives the data besides the service's own servers in the workspace's region."""
    retention: Callable[[Session], str] | None = None
    """The workspace's own retention setting for this data, as a sentence (called where the request's
    language is known); None: kept like contacts (the workspace's retention policy, erasure)."""


@dataclass(frozen=True)
class Module:
    key: str
    title: str
    models: str
    """Dotted path of the module's models (tenant schema tables)."""
    always_on: bool = False
    pages: Callable[[], Blueprint] | None = None
    """Builds the blueprint of pages served under ``/t/<slug>/``."""
    api: Callable[[], Blueprint] | None = None
    """Builds the blueprint of API resources served under ``/api/v1/``."""
    public: Callable[[], Blueprint] | None = None
    """Builds a blueprint of public routes with their own prefix (the customer hub, a module's pages in it:
    ``saas.modules.privacy.hub.serve_hub_pages``); it checks its switch."""
    nav: tuple[NavEntry, ...] = field(default_factory=tuple)
    """The module's places in the sidebar, each in its ``group``, shown while the module is on."""
    workspace_nav: Callable[[Session], list[NavEntry]] | None = None
    """Entries that depend on the workspace (its custom objects' lists), after ``nav``."""
    actions: tuple[NavEntry, ...] = ()
    """What the command palette (Ctrl/⌘-K) offers to do (``New deal``: a page that starts it), shown while
    the module is on."""
    settings: tuple[SettingsPage, ...] = ()
    """The module's settings pages (owners and admins): the hub shows them as one group under the module's
    title while the module is on."""
    record_links: tuple[RecordLink, ...] = ()
    """Links on other modules' record pages, shown while this module is on."""
    record_types: tuple[RecordType, ...] = ()
    """The module's kinds of records (contacts, deals, tickets)."""
    workspace_record_types: RecordTypes | None = None
    """Record types a workspace defines itself (custom objects): core's, read per session."""
    record_panels: tuple[RecordPanel, ...] = ()
    """Sections on record detail pages (any module's records), shown while this module is on."""
    seed: Callable[[Session], None] | None = None
    """Fills a new tenant's tables (e.g. a default pipeline); runs inside the provisioning transaction."""
    personal_data: Callable[[Session, DataSubject], dict] | None = None
    """Everything the module holds on one person, JSON-ready (the privacy center's download)."""
    erase_person: Callable[[Session, DataSubject], dict[str, int]] | None = None
    """Deletes or anonymises the person in the module's tables; returns counts per table. Idempotent."""
    retention_keep: Callable[[datetime], list[Select]] | None = None
    """Selects of the contact ids the module still needs as of a cutoff (activity since, open business):
    retention policies delete only contacts no module keeps."""
    refused_people: Callable[[Session, Collection[str]], dict[str, str]] | None = None
    """Of these emails, those a person may not be (re)created with, each with the reason (an erased
    person's). Takes many at once, so that an import checks a batch in one query."""
    import_consents: Callable[[Session, list[ImportedConsent], str], int] | None = None
    """Records consent choices brought by an import (``session, choices, actor``) in the module's ledger,
    with source ``import``; returns how many it recorded."""
    search: Callable[[Session, str, int], list[SearchHit]] | None = None
    """The module's records matching a query (``session, query, limit``), at most ``limit`` of each kind
    (contacts, accounts...): the global search box of every page lists them for the enabled modules."""
    dashboard: Callable[[Session], list[DashboardCard]] | None = None
    """The module's charts on the tenant dashboard (pipeline, forecast, campaign results, SLA health)."""
    merge_records: Callable[[Session, str, uuid.UUID, uuid.UUID], dict[str, int]] | None = None
    """Moves the module's references from a merged-away record to its survivor (``session, kind, survivor_id,
    merged_id``; kind ``contact``, ``account`` or ``lead``), in the caller's transaction; returns counts per
    table it handled. Tables with a foreign key to the record that no hook names are moved generically."""
    hub_sections: tuple[HubSection, ...] = ()
    """The module's parts of the customer hub (a customer's tickets, consents, chats), shown while it's on."""
    record_labels: tuple[tuple[str, RecordLabels], ...] = ()
    """Per record type (its table: ``stages``, ``accounts``; ``users`` for the workspace's members), how
    its records are named, so reports and filters show names where a field holds a record's id."""
    followed_link: Callable[[Session, str, uuid.UUID], str] | None = None
    """``session, url, contact_id`` -> the URL a contact's followed email link redirects to: the website
    module adds a signed mark to links into the workspace's own site, so the visit joins the contact."""
    segment_fields: tuple[SegmentField, ...] = ()
    """Fields of the module's data that segment rules may test (pages a contact viewed)."""
    record_lists: tuple[RecordList, ...] = ()
    """Lists records of some types may be added to in bulk, shown while the module is on."""
    report_sources: tuple[ReportSource, ...] = ()
    """Figures the report builder offers beside record types (attribution, customers), while it's on."""
    score_signals: tuple[ScoreSignal, ...] = ()
    """What the module's data adds to contacts' rule points (website visits, email engagement)."""
    """Figures the report builder offers beside record types (attribution, customers), while it's on."""
    processing: tuple[ProcessingActivity, ...] = ()
    """What the module does with personal data, for the workspace's records of processing."""
    event_listeners: tuple[EventListener, ...] = ()
    """Told of every event emitted in a tenant session (``contact.updated``, ``deal.stage_changed``,
    ``form.submitted``), webhook or not, inside the emitting transaction, so that what they write commits or
    rolls back with the change. Each checks its own module's switch."""


EventListener = Callable[[Session, str, dict[str, Any], dict[str, tuple[Any, Any]]], None]
"""Told of an event in the emitting tenant session's transaction: ``session, event, payload, changes``
(``changes``: each changed field's ``(before, after)`` for ``<noun>.updated``, else empty)."""


class ModuleRegistry:
    def __init__(self) -> None:
        self._modules: dict[str, Module] | None = None

    def _discover(self) -> dict[str, Module]:
        if self._modules is None:
            found: dict[str, Module] = {}
            for info in sorted(pkgutil.iter_modules(saas.modules.__path__), key=lambda i: i.name):
                if not info.ispkg:
                    continue
                spec = importlib.import_module(f"saas.modules.{info.name}.module")
                module: Module = spec.MODULE
                found[module.key] = module
            self._modules = found
        return self._modules

    def __iter__(self) -> Iterator[Module]:
        return iter(self._discover().values())

    def get(self, key: str) -> Module | None:
        return self._discover().get(key)

    def load_models(self) -> None:
        for module in self:
            importlib.import_module(module.models)

    def announce(
        self, session: Session, event: str, payload: dict[str, Any], changes: dict[str, tuple[Any, Any]]
    ) -> None:
        """Tell every module's event listeners of ``event`` (``saas.webhooks.events.emit`` calls this)."""
        for module in self:
            for listener in module.event_listeners:
                listener(session, event, payload, changes)

    def list_choices(self, session: Session, table: str, enabled: Collection[str]) -> list[tuple[str, str]]:
        """``(key, name)`` of the lists the ``enabled`` modules keep ``table``'s records on; the key
        (``<module>:<list id>``) is what :meth:`add_to_list` takes."""
        return [
            (f"{module.key}:{list_id}", name)
            for module in self
            if module.key in enabled
            for record_list in module.record_lists
            if table in record_list.record_types
            for list_id, name in record_list.choices(session)
        ]

    def add_to_list(self, session: Session, table: str, key: str, record_ids: list[uuid.UUID]) -> int:
        """Add records of ``table`` to the list ``key`` (from :meth:`list_choices`); ValueError for a key
        that names no list of this registry."""
        module_key, _, list_id = key.partition(":")
        module = self.get(module_key)
        record_list = (
            next((r for r in module.record_lists if table in r.record_types), None) if module else None
        )
        if record_list is None:
            raise ValueError(f"no list {key!r} for {table}")
        return record_list.add(session, uuid.UUID(list_id), record_ids)

    def refused_people(self, session: Session, emails: Collection[str]) -> dict[str, str]:
        """Of these emails, the ones some module refuses a person with, and why."""
        refused: dict[str, str] = {}
        for module in self:
            if module.refused_people is not None and emails:
                refused |= module.refused_people(session, emails)
        return refused

    def admit_person(self, session: Session, email: str | None) -> None:
        """Refuse (a ValidationError on ``email``) creating a person some module refuses."""
        reason = self.refused_people(session, [email]).get(email) if email else None
        if reason:
            raise ValidationError(reason, {"email": [reason]})

    def import_consents(self, session: Session, choices: list[ImportedConsent], actor: str) -> int:
        """Hand imported consent choices to the module that keeps the ledger; 0 when none is installed."""
        return sum(
            module.import_consents(session, choices, actor)
            for module in self
            if module.import_consents is not None and choices
        )

    def followed_link(self, session: Session, url: str, contact_id: uuid.UUID) -> str:
        """Where a contact's followed email link goes, as every module with a say leaves it."""
        for module in self:
            if module.followed_link is not None:
                url = module.followed_link(session, url, contact_id)
        return url

    def segment_fields(self) -> dict[str, SegmentField]:
        """Every module's segment fields by key."""
        return {field.key: field for module in self for field in module.segment_fields}

    def labels_records(self, record_type: str) -> bool:
        """Whether some module names the records of ``record_type``."""
        return any(record_type == key for module in self for key, _ in module.record_labels)

    def record_labels(
        self, session: Session, record_type: str, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        """The names of the ``record_type`` records with these ids, from the module that names them."""
        for module in self:
            resolve = dict(module.record_labels).get(record_type)
            if resolve is not None and ids:
                return resolve(session, ids)
        return {}

    def record_types(self, session: Session, enabled: Collection[str] | None = None) -> list[RecordType]:
        """Every record type of the workspace ``session`` is bound to: built-in ones, then its own; only of
        the ``enabled`` modules when given."""
        found = []
        for module in self:
            if enabled is not None and module.key not in enabled:
                continue
            declared = list(module.record_types)
            if module.workspace_record_types is not None:
                declared += module.workspace_record_types(session)
            found += [replace(record_type, module=module.key) for record_type in declared]
        return found

    def record_type(
        self, session: Session, table: str, enabled: Collection[str] | None = None
    ) -> RecordType | None:
        """The record type stored in ``table``, or None when the workspace has none such."""
        return next((t for t in self.record_types(session, enabled) if t.table == table), None)

    def report_sources(self, enabled: Collection[str] | None = None) -> list[ReportSource]:
        """Every module's report sources (of the ``enabled`` modules when given), each with its module."""
        return [
            replace(source, module=module.key)
            for module in self
            if enabled is None or module.key in enabled
            for source in module.report_sources
        ]

    def report_source(self, key: str) -> ReportSource | None:
        """The report source named ``key``, switched on or not (the caller checks the switch)."""
        return next((source for source in self.report_sources() if source.key == key), None)

    def score_signals(self, enabled: Collection[str]) -> list[ScoreSignal]:
        """The score signals of the ``enabled`` modules."""
        return [signal for module in self if module.key in enabled for signal in module.score_signals]

    def processing_activities(self, enabled: Collection[str]) -> list[tuple[Module, ProcessingActivity]]:
        """The processing activities of the ``enabled`` modules, each with its module, in registry order."""
        return [
            (module, activity) for module in self if module.key in enabled for activity in module.processing
        ]

    def record_panels(self, record_type: RecordType, enabled: Collection[str]) -> list[RecordPanel]:
        """The panels of the ``enabled`` modules shown on a ``record_type`` record's page, in order."""
        panels = [
            panel
            for module in self
            if module.key in enabled
            for panel in module.record_panels
            if not panel.record_types or record_type.table in panel.record_types
        ]
        return sorted(panels, key=lambda panel: panel.order)

    def module_for_path(self, dotted_path: str) -> Module | None:
        """The module that owns a dotted path such as ``saas.modules.sfa.services.x``."""
        parts = dotted_path.split(".")
        if len(parts) > 2 and parts[:2] == ["saas", "modules"]:
            return self.get(parts[2])
        return None


registry = ModuleRegistry()
