"""Merging two records that are the same contact, account or lead into one, in one transaction.

The user picks each field's value; every module moves its references to the survivor (registry hook
``merge_records``), tables no hook claims are moved through their foreign keys, then the merged record is
deleted. The merge lands on the survivor's timeline and in the audit log (identifiers only).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from saas.audit import record_audit
from saas.db import TenantBase, TenantSession, db
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_, Phrase
from saas.modules.core import custom_fields, duplicates, services
from saas.modules.core.activities import acting_user_id, record_event
from saas.modules.core.models import Activity, Contact
from saas.modules.registry import registry

SIDES = ("this", "other")
"""Where a merged field's value comes from: the surviving record or the one merged into it."""


@dataclass(frozen=True)
class MergeField:
    name: str
    label: str
    show: Callable[[Any], Any] | None = None
    """What the merge screen shows for this field, when not the stored value (an account's name...)."""


@dataclass(frozen=True)
class Elsewhere:
    """Records of another kind likely to be the same one (a lead who is a contact already)."""

    noun: str
    """The other kind's noun (``contact``)."""
    endpoint: str
    """The page of one such record (``core.show_contacts``)."""
    find: Callable[[TenantSession, uuid.UUID], list[duplicates.Duplicate]]


@dataclass(frozen=True)
class MergeKind:
    """A record type that can be merged: its fields, duplicate signals and timeline links."""

    key: str
    """``contact``, ``account``, ``lead``: the ``kind`` the registry hooks receive."""
    service: services.RecordService
    fields: tuple[MergeField, ...]
    signals: tuple[duplicates.Signal, ...]
    describe: Callable[[Any], str]
    timeline: Callable[[Any], dict[str, Any]]
    """Links of the survivor's timeline entry (``record_event`` keywords)."""
    refuse: Callable[[Any, Any], str | None] = field(default=lambda survivor, other: None)
    """Why this pair may not merge this way round (a converted lead must survive), or None."""
    elsewhere: tuple[Elsewhere, ...] = ()
    """Other kinds to look for the same person or company in (not merged: shown, linked)."""
    merged_message: str = N_("Merged %(name)s into this record")
    """The survivor's timeline entry (marked with ``N_``; ``%(name)s`` is the merged record): a whole
    sentence per kind, since a noun put into a sentence does not decline."""

    @property
    def model(self) -> Any:
        return self.service.model

    def duplicates(self, session: TenantSession, record_id: uuid.UUID) -> list[duplicates.Duplicate]:
        return duplicates.find_duplicates(session, self.model, self.signals, self.describe, record_id)

    def matching_records(self, session: TenantSession, record_id: uuid.UUID) -> list[dict[str, Any]]:
        """The likely same records of other kinds, each with its kind and the page that shows it."""
        return [
            {"kind": other.noun, "endpoint": other.endpoint, **asdict(match)}
            for other in self.elsewhere
            for match in other.find(session, record_id)
        ]


@dataclass(frozen=True)
class MergeResult:
    survivor: Any
    merged_id: uuid.UUID
    moved: dict[str, int]
    """Rows moved to the survivor, per table."""


_KINDS: dict[str, MergeKind] = {}


def register_merge_kind(kind: MergeKind) -> MergeKind:
    _KINDS[kind.key] = kind
    return kind


def merge_kind(noun: str) -> MergeKind | None:
    """The merge kind of a service's noun; modules register theirs when the registry discovers them."""
    list(registry)
    return _KINDS.get(noun)


def annotate_duplicates(session: TenantSession, noun: str, record: Any) -> Any:
    """Give ``record`` its ``possible_duplicates`` (for the API's output) when its kind can merge, and its
    ``matching_records`` of other kinds when the kind looks for them."""
    kind = merge_kind(noun)
    if kind is not None:
        record.possible_duplicates = kind.duplicates(session, record.id)
        if kind.elsewhere:
            record.matching_records = kind.matching_records(session, record.id)
    return record


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def default_side(survivor: Any, other: Any, name: str) -> str:
    """The survivor's value, unless it is empty and the other record has one."""
    return "other" if not _filled(getattr(survivor, name)) and _filled(getattr(other, name)) else "this"


def chosen_values(kind: MergeKind, survivor: Any, other: Any, choices: dict[str, str]) -> dict[str, Any]:
    """The survivor's new values: those of fields whose winner is the other record."""
    known = {f.name for f in kind.fields}
    unknown = sorted(set(choices) - known)
    if unknown:
        raise ValidationError(
            N_("No field %(fields)s to merge.", fields=", ".join(unknown)),
            {"fields": [N_("Choose among: %(choices)s.", choices=", ".join(sorted(known)))]},
        )
    bad = sorted(name for name, side in choices.items() if side not in SIDES)
    if bad:
        raise ValidationError(
            "Each field's winner is 'this' or 'other'.", {name: ["Choose 'this' or 'other'."] for name in bad}
        )
    return {
        f.name: getattr(other, f.name)
        for f in kind.fields
        if (choices.get(f.name) or default_side(survivor, other, f.name)) == "other"
    }


def chosen_custom_values(
    session: TenantSession, entity: str, survivor_id: uuid.UUID, other_id: uuid.UUID, choices: dict[str, str]
) -> dict[str, Any]:
    """The custom values the survivor takes from the other record (``cf_<key>`` choices; an empty value of
    the survivor's is filled by default), by key."""
    stored = custom_fields.read_values(session, entity, [survivor_id, other_id])
    mine, theirs = stored.get(survivor_id, {}), stored.get(other_id, {})
    wanted = {
        name.removeprefix(custom_fields.PREFIX): side
        for name, side in choices.items()
        if name.startswith(custom_fields.PREFIX)
    }
    unknown = sorted(set(wanted) - set(theirs))
    if unknown:
        raise ValidationError(
            N_("No custom field %(fields)s to merge.", fields=", ".join(unknown)),
            {"fields": [N_("Use cf_<key> of a custom field.")]},
        )
    taken = {}
    for key, value in theirs.items():
        default = "other" if not _filled(mine.get(key)) and _filled(value) and value != [] else "this"
        side = wanted.get(key) or default
        if side not in SIDES:
            raise ValidationError(
                "Each field's winner is 'this' or 'other'.", {key: ["Choose 'this' or 'other'."]}
            )
        if side == "other":
            taken[key] = value
    return taken


def merge_records(
    session: TenantSession,
    kind: MergeKind,
    survivor_id: uuid.UUID,
    other_id: uuid.UUID,
    choices: dict[str, str] | None = None,
) -> MergeResult:
    """Merge ``other_id`` into ``survivor_id``: all or nothing (a savepoint undoes a failure midway)."""
    if survivor_id == other_id:
        raise ValidationError(
            N_("A record cannot be merged with itself."), {"merge_id": [N_("Choose another.")]}
        )
    model = kind.model
    # Both rows locked in id order, so two merges of the same pair cannot deadlock or interleave.
    rows = session.scalars(
        select(model)
        .where(model.id.in_(sorted((survivor_id, other_id))))
        .order_by(model.id)
        .with_for_update()
    ).all()
    found = {row.id: row for row in rows}
    for record_id in (survivor_id, other_id):
        if record_id not in found:
            raise NotFound(N_("No record with id %(id)s.", id=record_id))
    survivor, other = found[survivor_id], found[other_id]
    choices = choices or {}
    plain = {name: side for name, side in choices.items() if not name.startswith(custom_fields.PREFIX)}
    values = chosen_values(kind, survivor, other, plain)
    custom = chosen_custom_values(session, model.__tablename__, survivor_id, other_id, choices)
    reason = kind.refuse(survivor, other)
    if reason:
        raise Conflict(reason)
    other_name = kind.describe(other)
    try:
        with session.begin_nested():
            moved = move_references(session, kind.key, model.__table__, survivor_id, other_id)
            kind.service.emit(session, "deleted", other)  # as before deletion, like a delete's
            session.execute(delete(model).where(model.id == other_id))
            session.expunge(other)
            session.expire_all()
            with session.no_autoflush:  # check the merged record before it reaches the database
                for name, value in values.items():
                    setattr(survivor, name, value)
                kind.service.check(session, survivor)
            session.flush()
            custom_fields.write_values(session, model.__tablename__, survivor_id, custom, creating=False)
            summary = ", ".join(f"{table}: {count}" for table, count in sorted(moved.items()) if count)
            record_event(
                session,
                Phrase(kind.merged_message, {"name": other_name}),
                body=Phrase(N_("Moved here: %(summary)s."), {"summary": summary}) if summary else None,
                **kind.timeline(survivor),
            )
            session.flush()
    except IntegrityError as error:
        raise Conflict(
            N_(
                "These records cannot be merged: a linked record would be duplicated (%(table)s).",
                table=error.orig.diag.table_name if error.orig is not None else "unknown table",
            )
        ) from error
    session.refresh(survivor)
    kind.service.emit(session, "updated", survivor)
    user_id = acting_user_id(session)
    record_audit(
        db.session,
        "core.records_merged",
        actor=f"user:{user_id}" if user_id else "system",
        tenant_id=session.tenant.id,
        target=f"{kind.key}:{survivor_id}",
        details={
            "kind": kind.key,
            "merged": str(other_id),
            "moved": moved,
            "fields_taken": sorted([*values, *(f"{custom_fields.PREFIX}{key}" for key in custom)]),
        },
    )
    return MergeResult(survivor=survivor, merged_id=other_id, moved=moved)


def move_references(
    session: TenantSession, kind: str, table: Any, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> dict[str, int]:
    """Every module's hook, then a plain re-pointing of each foreign key no hook claimed (a module
    whose references need nothing special, or that does not know about merges, still loses nothing)."""
    moved: dict[str, int] = {}
    for module in registry:
        if module.merge_records is not None:
            for name, count in module.merge_records(session, kind, survivor_id, other_id).items():
                moved[name] = moved.get(name, 0) + count
    registry.load_models()
    for other_table in TenantBase.metadata.sorted_tables:
        if other_table.name in moved:
            continue
        for key in other_table.foreign_keys:
            if key.column.table is table and key.column.name == "id":
                column = key.parent
                count = session.execute(
                    update(other_table).where(column == other_id).values({column.name: survivor_id})
                ).rowcount
                moved[other_table.name] = moved.get(other_table.name, 0) + count
    return moved


def merge_core_records(
    session: TenantSession, kind: str, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> dict[str, int]:
    """Core's ``merge_records`` hook: timeline entries (and an account's contacts) follow the survivor."""
    plain = {"synchronize_session": False}
    about = session.execute(
        update(Activity)
        .where(Activity.subject_type == kind, Activity.subject_id == other_id)
        .values(subject_id=survivor_id),
        execution_options=plain,
    ).rowcount
    moved = {"activities": about}
    if kind == "contact":
        moved["activities"] += session.execute(
            update(Activity).where(Activity.contact_id == other_id).values(contact_id=survivor_id),
            execution_options=plain,
        ).rowcount
    elif kind == "account":
        moved["activities"] += session.execute(
            update(Activity).where(Activity.account_id == other_id).values(account_id=survivor_id),
            execution_options=plain,
        ).rowcount
        moved["contacts"] = session.execute(
            update(Contact).where(Contact.account_id == other_id).values(account_id=survivor_id),
            execution_options=plain,
        ).rowcount
    return moved


def _account_name(contact: Contact) -> str | None:
    return contact.account.name if contact.account else None


CONTACT_KIND = register_merge_kind(
    MergeKind(
        key="contact",
        service=services.contacts,
        fields=(
            MergeField("first_name", "First name"),
            MergeField("last_name", "Last name"),
            MergeField("email", "Email"),
            MergeField("phone", "Phone"),
            MergeField("title", "Job title"),
            MergeField("account_id", "Account", show=_account_name),
            MergeField("notes", "Notes"),
        ),
        signals=duplicates.CONTACT_SIGNALS,
        describe=lambda contact: contact.display_name,
        timeline=lambda contact: {"contact_id": contact.id, "account_id": contact.account_id},
        merged_message=N_("Merged %(name)s into this contact"),
    )
)
ACCOUNT_KIND = register_merge_kind(
    MergeKind(
        key="account",
        service=services.accounts,
        fields=(
            MergeField("name", "Name"),
            MergeField("domain", "Web domain"),
            MergeField("industry", "Industry"),
            MergeField("phone", "Phone"),
            MergeField("notes", "Notes"),
        ),
        signals=duplicates.ACCOUNT_SIGNALS,
        describe=lambda account: account.name,
        timeline=lambda account: {"account_id": account.id},
        merged_message=N_("Merged %(name)s into this account"),
    )
)
