"""SQL expressions that normalise emails, phones, names and web domains, so that duplicate detection compares
like with like; the same expressions back the indexes that make those comparisons cheap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column
from sqlalchemy.sql.elements import ColumnElement

# Literals, not bound parameters: an expression index is used only when the query's expression is the same.
_NOT_DIGIT = literal_column(r"'[^0-9]'")
_EMPTY = literal_column("''")
_GLOBAL = literal_column("'g'")
_WEB_ADDRESS = literal_column(r"'^([a-z]+://)?(www\.)?([^/:?#]*).*$'")
_HOST = literal_column(r"'\3'")
# Legal forms and punctuation do not tell two companies apart ("ACME Inc." is "Acme").
_COMPANY_NOISE = literal_column(
    r"'\m(inc|incorporated|ltd|limited|llc|gmbh|corp|corporation|co|company|sa|ag|plc|bv|srl|sarl)\M|[^a-z0-9]'"
)

MIN_PHONE_DIGITS = 6
"""Fewer digits than this are an extension or a typo, not a phone number to match on."""

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "yahoo.de", "hotmail.com", "hotmail.fr",
        "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "gmx.de", "gmx.net",
        "web.de", "proton.me", "protonmail.com", "mail.com", "yandex.ru", "orange.fr", "free.fr",
    }
)  # fmt: skip
"""Two people at gmail.com do not work at the same company."""


def email_key(column: Any) -> ColumnElement:
    return func.lower(column)


def email_domain(column: Any) -> ColumnElement:
    return func.split_part(func.lower(column), literal_column("'@'"), literal_column("2"))


def phone_digits(column: Any) -> ColumnElement:
    """Phones are stored in E.164 (``saas.modules.core.phones``), so their digits compare numbers however
    they were typed; a value stored before that keeps its own digits (a national ``030...`` one matches
    only the same national spelling)."""
    return func.regexp_replace(column, _NOT_DIGIT, _EMPTY, _GLOBAL)


def name_key(column: Any) -> ColumnElement:
    return func.lower(column)


def first_name_key(column: Any) -> ColumnElement:
    """The first three letters: "Rob" and "Robert" are likely the same person."""
    return func.left(func.lower(column), literal_column("3"))


def web_domain(column: Any) -> ColumnElement:
    """``https://www.Acme.example/about`` and ``acme.example`` are the same domain."""
    return func.regexp_replace(func.lower(column), _WEB_ADDRESS, _HOST)


def company_key(column: Any) -> ColumnElement:
    return func.regexp_replace(func.lower(column), _COMPANY_NOISE, _EMPTY, _GLOBAL)
