"""Likely duplicates of a record: the same normalised email or phone, or a similar name at the same company.

Computed whenever a record is read (its page, the API), so a record is flagged however it was made (form,
API, import), and a merge or an edit clears the flag at once; expression indexes keep each look-up cheap.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from saas.modules.core.models import Account, Contact
from saas.modules.core.normalise import (
    FREE_MAIL_DOMAINS,
    MIN_PHONE_DIGITS,
    company_key,
    email_domain,
    email_key,
    first_name_key,
    name_key,
    phone_digits,
    web_domain,
)


@dataclass(frozen=True)
class Signal:
    """Records are likely the same when every key expression gives the same, non-empty value for both."""

    reason: str
    keys: tuple[ColumnElement, ...]
    ignore: Callable[[tuple[Any, ...]], bool] = field(default=lambda values: False)
    """Values too common to mean anything (a free-mail domain, a short phone number)."""


@dataclass(frozen=True)
class Duplicate:
    id: uuid.UUID
    name: str
    reasons: tuple[str, ...]


def _short_phone(values: tuple[Any, ...]) -> bool:
    return len(values[0]) < MIN_PHONE_DIGITS


def _free_mail(values: tuple[Any, ...]) -> bool:
    return values[-1] in FREE_MAIL_DOMAINS


def person_signals(model: Any, company: ColumnElement) -> tuple[Signal, ...]:
    """Contacts and leads: email, phone, or last name and first letters at one company (or email domain)."""
    similar_name = (name_key(model.last_name), first_name_key(model.first_name))
    return (
        Signal("same email", (email_key(model.email),)),
        Signal("same phone", (phone_digits(model.phone),), _short_phone),
        Signal("similar name, same company", (*similar_name, company)),
        Signal("similar name, same email domain", (*similar_name, email_domain(model.email)), _free_mail),
    )


CONTACT_SIGNALS = person_signals(Contact, Contact.account_id)
ACCOUNT_SIGNALS = (
    Signal("same web domain", (web_domain(Account.domain),)),
    Signal("same phone", (phone_digits(Account.phone),), _short_phone),
    Signal("same name", (company_key(Account.name),)),
)


def find_duplicates(
    session: Session,
    model: Any,
    signals: tuple[Signal, ...],
    describe: Callable[[Any], str],
    record_id: uuid.UUID,
    limit: int = 10,
) -> list[Duplicate]:
    """Other records of ``model`` likely to be the record ``record_id``, each with why, in name order."""
    return find_matches(session, (model, signals), (model, signals), describe, record_id, limit)


def find_matches(
    session: Session,
    source: tuple[Any, tuple[Signal, ...]],
    target: tuple[Any, tuple[Signal, ...]],
    describe: Callable[[Any], str],
    record_id: uuid.UUID,
    limit: int = 10,
) -> list[Duplicate]:
    """Records of the target model likely to be the source record ``record_id`` (itself excepted), each with
    why, in name order. The two signal tuples pair up: a source signal's keys are compared with the target
    signal's at the same position (a lead's email with a contact's email...)."""
    source_model, source_signals = source
    target_model, target_signals = target
    keys = [key for signal in source_signals for key in signal.keys]
    own = session.execute(select(*keys).where(source_model.id == record_id)).first()
    if own is None:
        return []
    matches: list[tuple[str, ColumnElement[bool]]] = []
    position = 0
    for signal, counterpart in zip(source_signals, target_signals, strict=True):
        values = tuple(own[position : position + len(signal.keys)])
        position += len(signal.keys)
        if any(value is None or value == "" for value in values) or signal.ignore(values):
            continue
        condition = and_(*(key == value for key, value in zip(counterpart.keys, values, strict=True)))
        matches.append((signal.reason, condition))
    if not matches:
        return []
    query = (
        select(target_model, *(condition.label(f"match_{n}") for n, (_, condition) in enumerate(matches)))
        .where(or_(*(condition for _, condition in matches)))
        .order_by(target_model.sort_name, target_model.id)
        .limit(limit)
    )
    if target_model is source_model:
        query = query.where(target_model.id != record_id)
    found = []
    for row in session.execute(query):
        reasons = tuple(reason for n, (reason, _) in enumerate(matches) if row[n + 1])
        found.append(Duplicate(id=row[0].id, name=describe(row[0]), reasons=reasons))
    return found


def flag_duplicates(
    session: Session, model: Any, signals: tuple[Signal, ...], record_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``record_ids`` (a list page) have a likely duplicate: one query for their keys, then one per
    signal for the key values held by more than one record (each answered from an expression index)."""
    keys = [key for signal in signals for key in signal.keys]
    rows = session.execute(select(model.id, *keys).where(model.id.in_(record_ids))).all()
    flagged: set[uuid.UUID] = set()
    position = 1
    for signal in signals:
        width = len(signal.keys)
        holders: dict[tuple[Any, ...], list[uuid.UUID]] = {}
        for row in rows:
            values = tuple(row[position : position + width])
            if not any(value is None or value == "" for value in values) and not signal.ignore(values):
                holders.setdefault(values, []).append(row[0])
        position += width
        if not holders:
            continue
        if width == 1:
            held = signal.keys[0].in_([values[0] for values in holders])
        else:
            held = tuple_(*signal.keys).in_(list(holders))
        shared = select(*signal.keys).where(held).group_by(*signal.keys).having(func.count() > 1)
        for values in session.execute(shared):
            flagged.update(holders.get(tuple(values), ()))
    return flagged
