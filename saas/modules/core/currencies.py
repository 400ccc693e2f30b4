"""Currencies: the workspace's base currency, its dated exchange rates, and converting amounts with them.

Nothing is converted silently: a record keeps its own amount and currency; totals in the base currency
say which rate (and of which day) they used, and an amount with no rate on file is left out of them and
named as such, never counted at some guessed rate.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import is_currency
from flask_babel import format_decimal, gettext
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import NotFound, ValidationError
from saas.i18n import N_, text_direction
from saas.modules.core.models import CurrencySettings, ExchangeRate
from saas.modules.core.workspace_settings import audit_admin_change, change_setting, setting

DEFAULT_BASE_CURRENCY = "EUR"
LEFT_TO_RIGHT_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2066", "\u2069"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0000000001")
MAX_RATE = Decimal("1e9")
# The European Central Bank's reference rates (eurofxref.csv, eurofxref-hist.csv): a Date column, then
# one column per currency, each value the units of that currency one euro buys.
REFERENCE_SOURCE = "ECB reference rates"
REFERENCE_BASE = "EUR"
MAX_REFERENCE_ROWS = 20_000
UPSERT_BATCH = 2000  # rows per INSERT: the ECB's whole history (~200k rates) in ~100 statements
MAX_REFERENCE_BYTES = 8 * 1024 * 1024  # the ECB's whole history since 1999 is about 1.5 MB


def normalise_currency(code: str | None, field_name: str = "currency") -> str:
    """An ISO 4217 code in capitals, or a ValidationError naming the field."""
    value = (code or "").strip().upper()
    if not is_currency(value):
        message = N_("Use a three-letter ISO 4217 currency code such as EUR, USD, RUB, CNY or IRR.")
        raise ValidationError(message, {field_name: [message]})
    return value


def base_currency(session: Session) -> str:
    return setting(session, CurrencySettings, "base_currency", DEFAULT_BASE_CURRENCY)


def set_base_currency(session: TenantSession, code: str) -> str:
    """Change the base currency; rates entered for another base stay on file but are not used."""
    value = normalise_currency(code, "base_currency")
    return change_setting(
        session, CurrencySettings, "base_currency", value,
        action="core.currency.base_changed", default=DEFAULT_BASE_CURRENCY,
    )  # fmt: skip


def _rate(value: object, field_name: str = "rate") -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        message = N_(
            "A rate is a positive number: what one unit of the currency is worth in the base currency."
        )
        raise ValidationError(message, {field_name: [message]})
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def set_rate(
    session: TenantSession, currency: str, rate: object, valid_on: date, *, actor_user_id: uuid.UUID | None
) -> ExchangeRate:
    """Record (or correct) the rate of ``currency`` in the base currency from ``valid_on`` on."""
    values = _rate_row(base_currency(session), currency, rate, valid_on, "manual", actor_user_id)
    [rate_id] = _upsert(session, [values])
    stored = session.get(ExchangeRate, rate_id)
    audit_admin_change(
        session, "core.exchange_rate.set", f"exchange_rate:{rate_id}",
        {"currency": stored.currency, "rate": str(stored.rate), "valid_on": valid_on.isoformat()},
    )  # fmt: skip
    return stored


def _rate_row(
    base: str, currency: str, rate: object, valid_on: date, source: str, actor_user_id: uuid.UUID | None
) -> dict:
    code = normalise_currency(currency)
    if code == base:
        message = N_("%(currency)s is the base currency: its rate is 1.", currency=code)
        raise ValidationError(message, {"currency": [message]})
    return {
        "id": uuid.uuid4(), "base_currency": base, "currency": code, "valid_on": valid_on,
        "rate": _rate(rate), "source": source, "actor_user_id": actor_user_id,
    }  # fmt: skip


def _upsert(session: Session, rows: list[dict]) -> list[uuid.UUID]:
    """Insert rates; a currency's rate for a day it already has is corrected. One statement."""
    statement = insert(ExchangeRate).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["base_currency", "currency", "valid_on"],
        set_={name: statement.excluded[name] for name in ("rate", "source", "actor_user_id")},
    ).returning(ExchangeRate.id)
    ids = list(session.execute(statement).scalars())
    session.expire_all()
    return ids


def list_rates(session: Session, currency: str | None = None, limit: int = 200) -> list[ExchangeRate]:
    """The base currency's rates, newest day first."""
    query = select(ExchangeRate).where(ExchangeRate.base_currency == base_currency(session))
    if currency:
        query = query.where(ExchangeRate.currency == normalise_currency(currency))
    return list(
        session.scalars(query.order_by(ExchangeRate.valid_on.desc(), ExchangeRate.currency).limit(limit))
    )


def delete_rate(session: TenantSession, rate_id: uuid.UUID) -> None:
    if not session.execute(delete(ExchangeRate).where(ExchangeRate.id == rate_id)).rowcount:
        raise NotFound("No such exchange rate.")
    audit_admin_change(session, "core.exchange_rate.deleted", f"exchange_rate:{rate_id}", {})


def rate_equation(currency: str, rate: Decimal, base: str) -> str:
    """``1 USD = 0.92 EUR``: on a right-to-left page isolated as one left-to-right unit, else the bidi
    algorithm detaches the leading ``1`` and a Persian reader sees ``USD = 0.92 EUR 1``."""
    equation = f"1 {currency} = {rate.normalize():f} {base}"
    if text_direction() != "rtl":
        return equation
    return f"{LEFT_TO_RIGHT_ISOLATE}{equation}{POP_DIRECTIONAL_ISOLATE}"


@dataclass(frozen=True)
class RateUsed:
    currency: str
    rate: Decimal
    valid_on: date
    source: str


@dataclass
class Converter:
    """Amounts in the base currency at the latest rate of each currency on or before ``on``."""

    base: str
    on: date
    rates: dict[str, RateUsed]
    missing: set[str] = field(default_factory=set)
    used: dict[str, RateUsed] = field(default_factory=dict)

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        """``amount`` in the base currency, or None (and ``currency`` noted as missing) with no rate."""
        if currency == self.base:
            return amount
        rate = self.rates.get(currency)
        if rate is None:
            self.missing.add(currency)
            return None
        self.used[currency] = rate
        return amount * rate.rate

    def total(self, amounts: dict[str, Decimal]) -> Decimal:
        """The sum of the convertible amounts (per currency) in the base currency, rounded to cents."""
        converted = (self.convert(amount, currency) for currency, amount in amounts.items())
        return sum((value for value in converted if value is not None), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )

    def describe(self, amounts: dict[str, Decimal]) -> str:
        """Amounts in several currencies as one base-currency figure, saying the rates it rests on."""
        total = self.total(amounts)
        return f"{format_decimal(total, '#,##0.00')} {self.base}" + self._basis(sorted(amounts))

    def explain(self) -> str:
        """What figures converted so far rest on (a report's sums): the base currency, the rates used and
        the currencies left out, in the reader's language."""
        # Translators: the currency a report's sums are in ("EUR"), then the rates it used, if any.
        return gettext("Amounts in %(currency)s", currency=self.base) + self._basis(
            sorted(set(self.used) | self.missing)
        )

    def _basis(self, currencies: list[str]) -> str:
        """`` (1 USD = 0.92 EUR of …); no rate for GBP, left out`` for the ``currencies`` concerned."""
        used = [self.used[c] for c in currencies if c in self.used]
        # Shown on pages only, so in the reader's language and number format.
        rates = "; ".join(
            # Translators: an exchange rate ("1 USD = 0.92 EUR") and the day it applies from.
            gettext(
                "%(equation)s of %(date)s",
                equation=rate_equation(r.currency, r.rate, self.base),
                date=r.valid_on,
            )
            for r in used
        )
        text = f" ({rates})" if rates else ""
        missing = [c for c in currencies if c in self.missing]
        if not missing:
            return text
        return text + gettext("; no rate for %(currencies)s, left out", currencies=", ".join(missing))

    def report(self) -> dict:
        """What a total in the base currency rests on: the rates used and the currencies left out."""
        return {
            "base_currency": self.base,
            "rates_as_of": self.on.isoformat(),
            "rates_used": [
                {
                    "currency": r.currency,
                    "rate": r.rate,
                    "valid_on": r.valid_on.isoformat(),
                    "source": r.source,
                }
                for r in sorted(self.used.values(), key=lambda r: r.currency)
            ],
            "not_converted": sorted(self.missing),
        }


def converter(session: Session, on: date | None = None) -> Converter:
    """A converter with every currency's latest rate on or before ``on`` (today), read in one query."""
    on = on or date.today()
    base = base_currency(session)
    rows = session.execute(
        select(ExchangeRate.currency, ExchangeRate.rate, ExchangeRate.valid_on, ExchangeRate.source)
        .where(ExchangeRate.base_currency == base, ExchangeRate.valid_on <= on)
        .order_by(ExchangeRate.currency, ExchangeRate.valid_on.desc())
        .distinct(ExchangeRate.currency)
    ).all()
    return Converter(base, on, {row.currency: RateUsed(*row) for row in rows})


@dataclass
class ReferenceImport:
    """What an import of a reference-rate file did: rates stored, and each line or value refused, why."""

    stored: int = 0
    days: int = 0
    refused: list[dict] = field(default_factory=list)


def import_reference_rates(
    session: TenantSession, content: bytes, actor_user_id: uuid.UUID | None
) -> ReferenceImport:
    """Store the rates of an ECB reference-rate CSV (daily or historical) for the base currency.

    The file gives euros' worth in each currency; for another base the rates are crossed through the
    euro on the same day (a day without the base currency's own rate is refused with its reason).
    """
    base = base_currency(session)
    report = ReferenceImport()
    if len(content) > MAX_REFERENCE_BYTES:
        message = N_(
            "The file is larger than %(megabytes)s MB.", megabytes=MAX_REFERENCE_BYTES // (1024 * 1024)
        )
        raise ValidationError(message, {"file": [message]})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            N_("The file is not UTF-8 text."), {"file": [N_("The file is not UTF-8 text.")]}
        ) from None
    rows = list(csv.reader(io.StringIO(text)))
    header = [cell.strip() for cell in rows[0]] if rows else []
    if not header or header[0] != "Date" or len(header) < 2:
        message = "Not an ECB reference-rate file: its first line must be Date followed by currency codes."
        raise ValidationError(message, {"file": [message]})
    if len(rows) - 1 > MAX_REFERENCE_ROWS:
        message = N_("The file has more than %(count)s days; split it.", count=MAX_REFERENCE_ROWS)
        raise ValidationError(message, {"file": [message]})
    currencies = header[1:]
    rows_by_key: dict[tuple[str, date], dict] = {}  # a day repeated in the file: its last line wins
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            report.refused.append(
                {"line": line, "reason": N_("%(value)s is not a date (YYYY-MM-DD).", value=repr(cells[0]))}
            )
            continue
        per_euro = _per_euro(currencies, cells[1:], line, report)
        if base != REFERENCE_BASE and base not in per_euro:
            report.refused.append(
                {
                    "line": line,
                    "reason": N_(
                        "No %(currency)s rate on %(day)s: the day is skipped.", currency=base, day=day
                    ),
                }
            )
            continue
        base_per_euro = Decimal(1) if base == REFERENCE_BASE else per_euro.pop(base)
        if base != REFERENCE_BASE:
            per_euro[REFERENCE_BASE] = Decimal(1)
        for currency, value in per_euro.items():
            rows_by_key[(currency, day)] = _rate_row(
                base, currency, base_per_euro / value, day, REFERENCE_SOURCE, actor_user_id
            )
    stored = list(rows_by_key.values())
    for start in range(0, len(stored), UPSERT_BATCH):
        _upsert(session, stored[start : start + UPSERT_BATCH])
    report.stored, report.days = len(stored), len({day for _, day in rows_by_key})
    details = {"source": REFERENCE_SOURCE, "stored": report.stored, "days": report.days}
    audit_admin_change(
        session, "core.exchange_rate.imported", "exchange_rates", {**details, "refused": len(report.refused)}
    )
    return report


def _per_euro(
    currencies: list[str], cells: list[str], line: int, report: ReferenceImport
) -> dict[str, Decimal]:
    values: dict[str, Decimal] = {}
    for currency, cell in zip(currencies, cells, strict=False):
        if not currency or cell in ("", "N/A"):
            continue  # the ECB leaves a currency out on days it has no rate
        if not is_currency(currency):
            report.refused.append(
                {
                    "line": line,
                    "reason": N_("%(currency)s is not an ISO 4217 currency code.", currency=repr(currency)),
                }
            )
            continue
        try:
            value = Decimal(cell)
        except InvalidOperation:
            value = Decimal(0)
        if not value.is_finite() or value <= 0:
            report.refused.append(
                {
                    "line": line,
                    "reason": N_(
                        "%(currency)s %(value)s is not a positive number.",
                        currency=currency,
                        value=repr(cell),
                    ),
                }
            )
            continue
        values[currency] = value
    return values
