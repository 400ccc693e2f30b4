"""Contacts and accounts: list, read, create, update, delete within one tenant-bound session."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Column, Select, any_, bindparam, false, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement, False_

from saas.db import TenantBase, TenantSession
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import SEARCH_CONFIG, Account, Contact, fold_search_text
from saas.modules.core.pagination import ListOrder, Page, SortKey, keyset_page, ordered_page
from saas.modules.registry import registry
from saas.webhooks.events import emit, record_payload

Record = TypeVar("Record", bound=TenantBase)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A word of a search: letters and digits; everything else (punctuation, tsquery operators & | ! : * ( )
# < > and quotes) separates words, as punctuation does in the search documents.
_WORD = re.compile(r"[^\W_]+")
MAX_SEARCH_WORDS = 16
"""Words of a search beyond these are ignored: a search is a few words, not a document."""


def search_words(q: str) -> list[str]:
    """The words of ``q`` as searched, folded as the documents are: letters and digits only, so none can
    be tsquery syntax."""
    return _WORD.findall(fold_search_text(unicodedata.normalize("NFC", q)))[:MAX_SEARCH_WORDS]


SEARCH_ID_CAP = 1000
"""A search matching at most this many records pages through them by id (RecordService.search_matches)."""
COMMON_SHARE = 0.02
"""Words that, by the table's statistics, start words of at least this share of its rows are common: a
walk in list order meets a match every 50 rows, so a page needs no id lookup first."""

_WORD_SHARES = text(
    "SELECT m.word, m.share FROM pg_stats AS s, "
    "unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS m(word, share) "
    "WHERE s.schemaname = current_schema() AND s.tablename = :table AND s.attname = 'search_vector' "
    "AND m.word IS NOT NULL"  # the frequencies end with three summary figures
)


def common_share(session: TenantSession, table: str, words: list[str]) -> float:
    """The share of ``table``'s rows estimated to hold every word (as a prefix), from PostgreSQL's own
    statistics of the column (its most common words, kept by ANALYZE): 0 for a word not among them."""
    shares = dict(session.execute(_WORD_SHARES, {"table": table}).tuples().all())
    estimate = 1.0
    for word in words:
        prefix = word.lower()
        estimate *= min(1.0, sum(share for common, share in shares.items() if common.startswith(prefix)))
    return estimate


def search_condition(vector: Column, q: str) -> ColumnElement[bool] | None:
    """Records whose ``search_vector`` has, for every word of ``q``, a word starting with it (``ann acme``
    finds Ann at acme.com; ``nn`` does not find Ann: words match from their start, not inside).

    None when ``q`` holds no words at all (blank: no search); a ``q`` of punctuation only matches
    nothing. Each word is quoted in the tsquery and holds no quote, so user text is never tsquery syntax;
    ``to_tsquery`` lower-cases the words, folded already as the documents were (``search_words``).
    """
    words = search_words(q)
    if not words:
        return None if not q.strip() else false()
    tsquery = " & ".join(f"'{word}':*" for word in words)
    return vector.op("@@")(func.to_tsquery(literal_column(f"'{SEARCH_CONFIG}'::regconfig"), tsquery))


def _default_sortable(model: Any) -> dict[str, InstrumentedAttribute]:
    """Name (when the record has one) and the time stamps."""
    names = {"name": "sort_name", "created_at": "created_at", "updated_at": "updated_at"}
    return {name: getattr(model, attribute) for name, attribute in names.items() if hasattr(model, attribute)}


class RecordService(Generic[Record]):
    """The operations every simple CRM record shares; one instance per model."""

    def __init__(
        self,
        model: type[Record],
        noun: str,
        search: tuple[InstrumentedAttribute, ...],
        *,
        announce: bool = False,
        sortable: dict[str, InstrumentedAttribute] | None = None,
    ) -> None:
        self.model = model
        self.noun = noun
        self.search = search
        # A record type with a generated ``search_vector`` (contacts, accounts, leads, deals) is searched
        # by word through its GIN index; the others by substring over ``search`` (a sequential scan).
        self.search_vector: Column | None = model.__table__.c.get("search_vector")
        # Columns a list may be sorted by (``sort=<name>`` / ``sort=-<name>``), besides custom fields.
        self.sortable = sortable if sortable is not None else _default_sortable(model)
        # Whether changes emit ``<noun>.created|updated|deleted`` webhooks (saas.webhooks).
        self.announce = announce

    def emit(
        self,
        session: TenantSession,
        verb: str,
        record: Record,
        changes: dict[str, tuple[Any, Any]] | None = None,
    ) -> None:
        if self.announce:
            emit(session, f"{self.noun}.{verb}", record_payload(record), changes)

    newest_first: ClassVar[bool] = False
    """Whether lists run from the highest sort key down (a timeline) instead of up (names)."""

    def sort_keys(self) -> tuple[SortKey, ...]:
        """The list order; (``sort_name``, ``id``) by default, backed by an index on both."""
        model: Any = self.model
        return (
            SortKey(model.sort_name, lambda record: record.sort_name),
            SortKey(model.id, lambda record: record.id, uuid.UUID),
        )

    def filters(self, **filters: Any) -> list[ColumnElement[bool]]:
        """SQL conditions for a list's filters; record types with filters override this."""
        if filters:
            raise TypeError(f"{self.noun} lists take no filters, got {sorted(filters)}")
        return []

    def list(
        self,
        session: TenantSession,
        *,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        where: Sequence[ColumnElement[bool]] = (),
        sort: str | None = None,
        **filters: Any,
    ) -> Page[Record]:
        """One page in list order, by keyset: constant cost at any depth; ``q`` searches; ``where`` adds
        conditions (custom field filters); ``sort`` names another order (see :meth:`order`)."""
        query = self.matching(session, q=q, where=where, **filters)
        if sort:
            return ordered_page(session, query, self.order(session, sort), cursor=cursor, limit=limit)
        return keyset_page(
            session, query, self.sort_keys(), cursor=cursor, limit=limit, descending=self.newest_first
        )

    def matching(
        self,
        session: TenantSession,
        *,
        q: str | None = None,
        where: Sequence[ColumnElement[bool]] = (),
        **filters: Any,
    ) -> Select:
        """The records a list shows with these filters and search, unordered: a list pages through them,
        a bulk action on "all that match" takes them all."""
        query = select(self.model).where(*self.filters(**{k: v for k, v in filters.items() if v is not None}))
        query = query.where(*where)
        if q and self.search_vector is not None:
            condition = self.search_matches(session, q)
            if condition is not None:
                query = query.where(condition)
        elif q:
            pattern = f"%{_escape_like(q.strip().lower())}%"
            query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in self.search)))
        return query

    def search_matches(self, session: TenantSession, q: str) -> ColumnElement[bool] | None:
        """The records ``q`` finds, as a condition of the list query; None when ``q`` is no search.

        Two statements, because of a page's ``ORDER BY ... LIMIT``: PostgreSQL estimates a word prefix it
        has no statistics for to match a fixed share of the rows (2%), so for a rare or absent word it
        walks the list order's index testing every row (the whole table when nothing matches: 130 ms at
        100k contacts, bench/api.py). So the GIN index finds the ids
        first; up to SEARCH_ID_CAP of them, the page fetches those rows by primary key. More matches mean
        common words, which a walk in list order meets often: the page query then tests the words itself.
        Words the column's statistics know as common (COMMON_SHARE) skip the id lookup, whose bitmap of
        every match is what costs for them.
        """
        condition = search_condition(self.search_vector, q)
        if condition is None or isinstance(condition, False_):
            return condition
        if common_share(session, self.model.__tablename__, search_words(q)) >= COMMON_SHARE:
            return condition  # the GIN lookup would gather every match (20 ms for "a" at 100k rows)
        model: Any = self.model
        ids = session.scalars(select(model.id).where(condition).limit(SEARCH_ID_CAP + 1)).all()
        if len(ids) > SEARCH_ID_CAP:
            return condition
        return model.id == any_(bindparam("search_ids", ids, type_=ARRAY(PG_UUID(as_uuid=True))))

    def sort_names(self, session: TenantSession) -> list[str]:
        """What ``sort`` may name (each also with a leading ``-`` for descending order)."""
        return self._sort_names(self._custom_fields(session))

    def _sort_names(self, definitions: list[Any]) -> list[str]:
        from saas.modules.core import custom_fields  # custom fields build on this module

        return [*self.sortable, *custom_fields.sortable_names(definitions)]

    def _custom_fields(self, session: TenantSession) -> list[Any]:
        from saas.modules.core import custom_fields

        entity = self.model.__tablename__
        return custom_fields.list_fields(session, entity) if custom_fields.takes_fields(entity) else []

    def order(self, session: TenantSession, sort: str) -> ListOrder:
        """The order ``sort`` names: a built-in column or a custom field, ``-`` first for descending."""
        return self.order_among(self._custom_fields(session), sort)

    def order_among(self, definitions: list[Any], sort: str) -> ListOrder:
        """:meth:`order` with the record type's custom fields given (an archive's, before it is loaded)."""
        from saas.modules.core import custom_fields

        name = sort.removeprefix("-")
        if name in self.sortable:
            column: Any = self.sortable[name]
        elif name.startswith(custom_fields.PREFIX):
            column = custom_fields.sort_column(definitions, name)
        else:
            choices = ", ".join(self._sort_names(definitions))
            message = (
                N_("This list can sort by %(choices)s; put - first for descending.", choices=choices)
                if choices
                else N_("This list sorts by nothing but its own order.")
            )
            raise ValidationError(N_("Unknown sort %(sort)s.", sort=repr(sort)), {"sort": [message]})
        return ListOrder(sort, column, self.model.id, descending=sort.startswith("-"))

    def get(self, session: TenantSession, record_id: uuid.UUID) -> Record:
        record = session.get(self.model, record_id)
        if record is None:
            raise NotFound(N_("No record with id %(id)s.", id=record_id))
        return record

    def normalised(
        self, session: TenantSession, values: dict[str, Any], record: Record | None = None
    ) -> dict[str, Any]:
        """``values`` as stored, whichever path writes them (page, API, form, conversion): a phone in
        E.164, read in the workspace's region. ``record`` is the one being updated, if any."""
        from saas.modules.core import phones  # phones audits via activities, which builds on this module

        if phones.PHONE_FIELD not in values or phones.PHONE_FIELD not in self.model.__table__.c:
            return values
        stored = getattr(record, phones.PHONE_FIELD) if record is not None else None
        return phones.normalise_phone_values(values, phones.phone_region(session), stored)

    def create(self, session: TenantSession, data: dict[str, Any], *, copied: bool = False) -> Record:
        """A new record; ``copied``: ``data`` comes from another stored record (a lead converted), so it is
        written as stored there (a phone from before normalisation must not block the conversion)."""
        record = self.model(**(data if copied else self.normalised(session, data)))
        self.check(session, record)
        session.add(record)
        session.flush()
        session.refresh(record)
        self.emit(session, "created", record)
        return record

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Record:
        record = self.get(session, record_id)
        changes = self.normalised(session, changes, record)
        before = {name: getattr(record, name, None) for name in changes}
        with session.no_autoflush:  # check the changed record before it reaches the database
            for name, value in changes.items():
                setattr(record, name, value)
            self.check(session, record)
        session.flush()
        session.refresh(record)
        after = {name: getattr(record, name, None) for name in changes}
        changed = {name: (before[name], after[name]) for name in changes if before[name] != after[name]}
        self.emit(session, "updated", record, changed)
        return record

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        record = self.get(session, record_id)
        self.emit(session, "deleted", record)
        session.delete(record)
        session.flush()

    def check(self, session: TenantSession, record: Record) -> None:
        """Rules that need the whole record or the database; schemas check single fields."""


class ContactService(RecordService[Contact]):
    def filters(self, *, min_rule_score: int | None = None) -> list[ColumnElement[bool]]:
        """A score floor leaves out contacts not scored yet (NULL)."""
        return [] if min_rule_score is None else [Contact.rule_score >= min_rule_score]

    def check(self, session: TenantSession, record: Contact) -> None:
        if not (record.first_name or record.last_name):
            raise ValidationError(
                "A contact needs a first or a last name.", {"last_name": ["Enter a first or last name."]}
            )
        if record.account_id is not None and session.get(Account, record.account_id) is None:
            raise ValidationError("Unknown account.", {"account_id": ["No account with this id."]})
        registry.admit_person(session, record.email)  # e.g. not a person who asked to be erased


contacts = ContactService(
    Contact,
    "contact",
    search=(Contact.first_name, Contact.last_name, Contact.sort_name, Contact.email),
    announce=True,
    sortable={
        "name": Contact.sort_name,
        "first_name": Contact.first_name,
        "last_name": Contact.last_name,
        "email": Contact.email,
        "title": Contact.title,
        "rule_score": Contact.rule_score,
        "created_at": Contact.created_at,
        "updated_at": Contact.updated_at,
    },
)
accounts = RecordService(
    Account,
    "account",
    search=(Account.sort_name, Account.domain),
    announce=True,
    sortable={
        "name": Account.sort_name,
        "domain": Account.domain,
        "industry": Account.industry,
        "created_at": Account.created_at,
        "updated_at": Account.updated_at,
    },
)
