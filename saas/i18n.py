"""The translation layer: which language and time zone a page or mail uses, the message catalogs
(compiled from ``saas/translations/*.po`` when missing or stale) and the local-format Jinja filters.

Language, first match wins. Staff pages: the signed-in user's own choice, the workspace default, the
browser's ``Accept-Language``. Public pages (privacy center, portal, marketing forms): the contact's
preferred language once the page knows the contact (``use_audience_locale``), else ``Accept-Language``,
else the workspace default. Mail goes out in the recipient's language (``in_locale``).

Time zone: staff pages the signed-in user's own, else the workspace's, else UTC; public pages the
workspace's, else UTC.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
    gettext,
    refresh,
)
from flask_login import current_user
from markupsafe import Markup

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "en"
DEFAULT_TIME_ZONE = "UTC"

LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "ru": "Русский",
    "zh_Hans": "简体中文",
    "fa": "فارسی",
}
"""The locales the product ships, each named in its own language (how a language menu lists them)."""

babel = Babel()


class FilledMessage(str):
    """A marked message with values in it: reads as the English text with the values filled in wherever a
    plain string is wanted (the API's problem+json, logs), and keeps the message and its values so that
    :func:`translate` renders it whole in the reader's language (word order is the language's)."""

    msgid: str
    values: dict[str, Any]
    translated: tuple[str, ...]

    def __new__(cls, msgid: str, values: dict[str, Any], translated: tuple[str, ...] = ()) -> FilledMessage:
        filled = super().__new__(cls, msgid % values)
        filled.msgid, filled.values, filled.translated = msgid, values, translated
        return filled

    def __reduce__(self) -> tuple:  # a job's arguments and results are pickled
        return FilledMessage, (self.msgid, self.values, self.translated)


def N_(message: str, *, translated: tuple[str, ...] = (), **values: Any) -> str:
    """Marks a string for extraction that is translated later, where it is shown (``{{ _(label) }}``):
    module declarations (navigation labels) are built once per process, before any request's language.
    With ``values`` (``N_("Unknown scope: %(scope)s.", scope=name)``), a :class:`FilledMessage`: what a
    service refuses with when the refusal names what it refused. ``translated``: the values that are
    product words marked themselves (a module's title), shown in the reader's language too."""
    return FilledMessage(message, values, translated) if values else message


SCHEMA_MESSAGES = (
    N_("Field may not be null."),
    N_("Missing data for required field."),
    N_("Unknown field."),
    N_("Invalid value."),
    N_("Not a valid string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Not a valid boolean."),
    N_("Not a valid date."),
    N_("Not a valid UUID."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid list."),
)
"""marshmallow's own field messages, marked for extraction: a page shows a field's messages through
``translate``, so these read in the reader's language while the API keeps them English."""


def translate(message: str) -> str:
    """``message`` in the current language if the catalogs have it (a string marked with ``N_``, values
    and all), else as written: for text chosen at run time (error details, navigation labels)."""
    if isinstance(message, FilledMessage):
        stored = {"message": message.msgid, "values": message.values, "translated": message.translated}
        return shown_phrase(stored, fallback=str(message))
    return gettext(message) if message else message


def supported_locales() -> list[str]:
    """The shipped locales; ``LANGUAGES`` in the app config may add one (the tests' pseudo-locale)."""
    return list(current_app.config.get("LANGUAGES", LANGUAGES))


def normalise_locale(value: str | None) -> str | None:
    """``value`` if it names a supported locale (``zh-Hans``, ``zh_hans`` and ``zh`` count), else None."""
    if not value:
        return None
    wanted = value.replace("-", "_").strip().lower()
    for code in supported_locales():
        if code.lower() == wanted:
            return code
    # A bare language or a regional variant (de_AT, zh_CN) takes the shipped locale of that language.
    language = wanted.split("_")[0]
    return next((code for code in supported_locales() if code.split("_")[0].lower() == language), None)


def browser_locale() -> str | None:
    """The best match among the supported locales for the request's ``Accept-Language``."""
    if not has_request_context():
        return None
    for value, _quality in request.accept_languages:
        code = normalise_locale(value)
        if code:
            return code
    return None


def _workspace_setting(name: str) -> str | None:
    """``locale`` or ``time_zone`` of the workspace this request serves: the staff member's, or the
    one a public page named through :func:`use_audience_locale`."""
    audience = g.get("audience_locale")
    membership = g.get("membership")
    workspace = audience.workspace if audience is not None else getattr(membership, "tenant", None)
    return getattr(workspace, name, None)


def _user_locale() -> str | None:
    if not current_user or not current_user.is_authenticated:
        return None
    return normalise_locale(getattr(current_user, "locale", None))


def select_locale() -> str:
    """Flask-Babel's locale selector: see the module docstring for the order."""
    if not has_request_context() or request.path.startswith("/api/"):
        return DEFAULT_LOCALE  # the API speaks English to programs, whoever holds the token
    workspace = normalise_locale(_workspace_setting("locale"))
    audience = g.get("audience_locale")
    if audience is not None:
        # A public page: the end customer's language first, the workspace's only as a last resort.
        return normalise_locale(audience.preferred) or browser_locale() or workspace or DEFAULT_LOCALE
    return _user_locale() or workspace or browser_locale() or DEFAULT_LOCALE


def _user_time_zone() -> str | None:
    if not current_user or not current_user.is_authenticated:
        return None
    return getattr(current_user, "time_zone", None)


def select_time_zone() -> str:
    """Flask-Babel's time zone selector. Staff pages: the signed-in user's own zone, the workspace's,
    UTC. Public pages: the workspace's (the end customer is not the signed-in user), else UTC."""
    if not has_request_context():
        return DEFAULT_TIME_ZONE
    own = _user_time_zone() if g.get("audience_locale") is None else None
    return own or _workspace_setting("time_zone") or DEFAULT_TIME_ZONE


def reading_time_zone() -> str:
    """The IANA name of the zone this page shows times in (``Asia/Tehran``, ``UTC``): printed next to
    times formatted with a fixed pattern, so the reader knows which clock they are."""
    zone = get_timezone()
    return str(zone) if zone is not None else DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class AudienceLocale:
    """Marks a request as a public page for an end customer of ``workspace``."""

    workspace: object
    """The workspace (a ``Tenant`` row) whose public page this is: its default language and time zone."""
    preferred: str | None = None
    """The contact's preferred language, once the page knows who the visitor is."""


def use_audience_locale(workspace: object, preferred: str | None = None) -> None:
    """Called by public pages: choose the language for an end customer, from their contact when known."""
    g.audience_locale = AudienceLocale(workspace, preferred)
    refresh()


def current_locale() -> str:
    """The locale code of this request or mail (``en`` outside one)."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LOCALE
    return next((code for code in supported_locales() if Locale.parse(code) == locale), str(locale))


def text_direction() -> str:
    """``rtl`` for Persian (and any right-to-left locale), else ``ltr``: the ``dir`` of ``<html>``."""
    locale = get_locale()
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def html_lang() -> str:
    """The BCP 47 tag of the current locale, for ``<html lang>`` (``zh-Hans``, ``fa``)."""
    return current_locale().replace("_", "-")


@contextmanager
def in_locale(code: str | None) -> Iterator[str]:
    """Render mail in the recipient's language: ``code`` if supported, else the default locale."""
    chosen = normalise_locale(code) or DEFAULT_LOCALE
    with force_locale(chosen):
        yield chosen


def format_moment(value: datetime | date | None, format: str = "medium") -> str:
    """A date or timestamp in the reader's locale (and, for timestamps, the reader's time zone:
    :func:`select_time_zone`)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, format)
    return format_date(value, format)


def local_input_value(value: datetime | None) -> str:
    """A timestamp as a ``datetime-local`` input shows it (``2026-12-07T15:30``): on the reader's clock."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(select_time_zone())).strftime("%Y-%m-%dT%H:%M")


def from_local_input(value: str | None) -> datetime | None:
    """What a ``datetime-local`` input means: a moment on the reader's clock (an offset typed with it
    wins). ``None`` when empty or not a date and time."""
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(select_time_zone()))


@dataclass(frozen=True)
class Phrase:
    """A sentence the product writes down now and shows later, in whichever language the reader reads:
    the English message (marked with ``N_``), its values, and which values are workspace text that may be
    translated too (a seeded stage name). Stored as JSON (:meth:`stored`) beside the English text."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)
    translated: tuple[str, ...] = ()
    """The values shown through :func:`translate` (text the workspace may still have as seeded)."""

    def english(self) -> str:
        return self.message % self.values

    def stored(self) -> dict[str, Any]:
        return {"message": self.message, "values": self.values, "translated": list(self.translated)}


def shown_phrase(stored: dict[str, Any] | None, fallback: str | None = None) -> str | None:
    """A stored :class:`Phrase` in the reader's language; ``fallback`` (the English text kept beside it)
    when there is none or it no longer fits its translation."""
    if not stored:
        return fallback
    translated = set(stored.get("translated") or ())
    values = {
        name: translate(str(value)) if name in translated else value
        for name, value in (stored.get("values") or {}).items()
    }
    try:  # formatted here, not by gettext: it leaves a message alone when given no values
        return gettext(stored["message"]) % values
    except (KeyError, TypeError, ValueError):
        return fallback


def format_money(amount: Decimal | float | int | None, currency: str = "USD") -> str:
    """An amount with its currency in the reader's locale (``1.234,50 €``, ``€1,234.50``)."""
    from flask_babel import format_currency

    return "" if amount is None else format_currency(amount, currency)


@lru_cache(maxsize=32)
def _zone_choices(locale: str, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    labelled = [(name, get_timezone_location(name, locale=locale)) for name in names]
    return tuple(sorted(labelled, key=lambda choice: choice[1]))


def zone_choices(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(IANA name, the place in the reader's language)`` for a time zone select, sorted by the place
    ("Deutschland (Berlin)" for ``Europe/Berlin``); Babel's names, computed once per language."""
    return _zone_choices(current_locale(), tuple(names))


def bidi_isolate(value: object) -> Markup:
    """Wraps user-typed text (names, emails) so Latin text inside a Persian sentence stays legible."""
    return Markup("<bdi>{}</bdi>").format(value)


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every ``.po`` under ``directory`` whose ``.mo`` is missing or older; returns those written.

    Called by the app factory, so a fresh clone, ``make dev``, ``make test`` and CI start with compiled
    catalogs; the image compiles them at build time (its code is read-only at run time). Each file is
    written to a temporary name and renamed, so parallel test workers never read half a catalog.
    """
    written: list[Path] = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(handle, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.replace(temporary, mo_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(mo_path)
    return written


def _choose_afresh(endpoint: str | None, values: dict | None) -> None:
    """Each request chooses its own language: Flask-Babel caches the choice on ``g``, which outlives a
    request when an application context was already pushed (tests, CLI). Runs before the blueprints'
    own preprocessors, which may name a public page's audience."""
    g.pop("audience_locale", None)
    refresh()


def init_app(app: Flask) -> None:
    """Compile stale catalogs, install Flask-Babel with our selectors and the format filters."""
    try:
        compile_catalogs()
    except PermissionError:
        # A read-only install (the image) compiled them at build time; say so if one is missing.
        log.warning("translation catalogs could not be compiled (read-only install)")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("LANGUAGES", dict(LANGUAGES))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_time_zone)
    app.url_value_preprocessor(_choose_afresh)
    app.jinja_env.filters.update(
        moment=format_moment,
        local_money=format_money,
        bdi=bidi_isolate,
        translate=translate,
        number=format_decimal,
    )
    app.jinja_env.globals.update(
        html_lang=html_lang,
        text_direction=text_direction,
        current_locale=current_locale,
        reading_time_zone=reading_time_zone,
        zone_choices=zone_choices,
    )
