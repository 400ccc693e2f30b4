"""The catalogs: every locale translates every extracted message, nothing fuzzy, placeholders kept,
and they compile (the .mo files are built from the .po files, never kept in the repository)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from saas.i18n import LANGUAGES, TRANSLATIONS_DIR, compile_catalogs

SHIPPED = [code for code in LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def catalog_problems(template: Catalog, catalog: Catalog) -> list[str]:
    """What keeps ``catalog`` from being complete for ``template``: missing, empty or fuzzy entries,
    placeholders that differ from the English, and entries no longer extracted."""
    problems = []
    # A message is its id and its context (``pgettext``: the same English word, two meanings).
    wanted = {(message.id, message.context) for message in template if message.id}
    for message in template:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        found = catalog.get(message.id, message.context)
        if found is None:
            problems.append(f"missing: {key!r}")
            continue
        forms = found.string if isinstance(found.string, tuple | list) else (found.string,)
        if not all(forms) or len(forms) != (catalog.num_plurals if found.pluralizable else 1):
            problems.append(f"untranslated (or a plural form short): {key!r}")
        if found.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        names = set(PLACEHOLDER.findall(key))
        for form in forms:
            if form and set(PLACEHOLDER.findall(form)) - names:
                problems.append(f"placeholder not in the English: {key!r}")
            if form and not found.pluralizable and set(PLACEHOLDER.findall(form)) != names:
                problems.append(f"placeholders differ: {key!r}")
    problems += [f"obsolete: {m.id!r}" for m in catalog if m.id and (m.id, m.context) not in wanted]
    return problems


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_catalog_translates_every_extracted_message_and_none_is_fuzzy(locale):
    template = _read(TRANSLATIONS_DIR / "messages.pot")
    catalog = _read(TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    assert len(template) > 200  # the extraction found the product's strings
    assert catalog_problems(template, catalog) == []


def test_the_catalog_check_reports_missing_fuzzy_and_broken_entries():
    template = Catalog()
    for text in ("Sign in", "Hello %(name)s", "Thanks", "Gone"):
        template.add(text)
    catalog = Catalog(locale="de")
    catalog.add("Sign in", "Anmelden", flags=("fuzzy",))
    catalog.add("Hello %(name)s", "Hallo %(nom)s")
    catalog.add("Thanks", "")
    catalog.add("Old", "Alt")
    problems = catalog_problems(template, catalog)
    assert "fuzzy: 'Sign in'" in problems
    assert "placeholders differ: 'Hello %(name)s'" in problems
    assert "untranslated (or a plural form short): 'Thanks'" in problems
    assert "missing: 'Gone'" in problems and "obsolete: 'Old'" in problems


def test_russian_catalog_has_three_plural_forms_and_chinese_one():
    ru = _read(TRANSLATIONS_DIR / "ru" / "LC_MESSAGES" / "messages.po", "ru")
    zh = _read(TRANSLATIONS_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po", "zh_Hans")
    assert ru.num_plurals == 3 and zh.num_plurals == 1
    plural = next(m for m in ru if m.pluralizable and m.id)
    assert len(plural.string) == 3 and len(set(plural.string)) >= 2


def test_compiling_writes_a_missing_or_stale_mo_and_leaves_a_fresh_one(tmp_path):
    source = TRANSLATIONS_DIR / "de" / "LC_MESSAGES" / "messages.po"
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "messages.po")
    assert compile_catalogs(tmp_path) == [folder / "messages.mo"]
    assert compile_catalogs(tmp_path) == []  # fresh: nothing to do
    from babel.support import Translations

    translations = Translations.load(str(tmp_path), ["de"])
    assert translations.gettext("Sign in") == "Anmelden"
    (folder / "messages.po").touch()
    (folder / "messages.mo").touch()
    stale = (folder / "messages.mo").stat().st_mtime - 10
    import os

    os.utime(folder / "messages.mo", (stale, stale))
    assert compile_catalogs(tmp_path) == [folder / "messages.mo"]


def test_no_compiled_catalog_is_kept_in_the_repository():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "saas/translations"], capture_output=True, text=True, check=True,
        cwd=TRANSLATIONS_DIR.parent.parent,
    ).stdout.split()  # fmt: skip
    assert tracked and not [path for path in tracked if path.endswith(".mo")]
