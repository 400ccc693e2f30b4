"""docs/architecture.md stays true: its layout names only real paths, and names every package of ``saas/``.

The layout is the fenced block under the "Layout" heading: one entry per line, a repository-relative path
first (a folder ends with ``/``), its description after it; lines that start with a space continue the
description above them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
SKIPPED_FOLDERS = {"__pycache__"}


def layout_entries(markdown: str) -> list[str]:
    """The paths the layout block names, in order."""
    heading = re.search(r"^## [^\n]*\bLayout\b[^\n]*$", markdown, re.MULTILINE)
    assert heading, "docs/architecture.md has no '## ... Layout' heading"
    block = re.search(r"^```[^\n]*\n(.*?)^```", markdown[heading.end() :], re.MULTILINE | re.DOTALL)
    assert block, "the Layout section of docs/architecture.md has no fenced block"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip() and not line[0].isspace()]


def packages_to_document(root: Path) -> set[str]:
    """Every Python package under ``saas/``, every folder directly in ``saas/``, and every module folder
    directly in ``saas/modules/``, as ``saas/.../`` paths."""
    saas = root / "saas"
    folders = {path.parent for path in saas.rglob("__init__.py")} - {saas}
    folders |= {path for path in saas.iterdir() if path.is_dir()}
    folders |= {path.parent for path in (saas / "modules").glob("*/module.py")}
    return {
        f"{path.relative_to(root).as_posix()}/"
        for path in folders
        if not SKIPPED_FOLDERS & set(path.relative_to(root).parts)
    }


def test_layout_block_is_parsed():
    # Guards the checks below against passing on an empty or misparsed block.
    entries = layout_entries(DOC.read_text())
    assert len(entries) > 30
    assert {"saas/db.py", "saas/modules/registry.py", "saas/modules/core/", "tests/"} <= set(entries)


def test_every_path_the_layout_names_exists():
    missing = [entry for entry in layout_entries(DOC.read_text()) if not (ROOT / entry).exists()]
    assert not missing, f"docs/architecture.md's layout names paths that do not exist: {missing}"


def test_layout_folders_are_folders():
    wrong = [
        entry
        for entry in layout_entries(DOC.read_text())
        if entry.endswith("/") != (ROOT / entry).is_dir() and (ROOT / entry).exists()
    ]
    assert not wrong, f"a folder must end with '/' and a file must not: {wrong}"


def test_every_package_of_saas_is_in_the_layout():
    documented = set(layout_entries(DOC.read_text()))
    undocumented = sorted(packages_to_document(ROOT) - documented)
    assert not undocumented, (
        f"add these to the Layout block of docs/architecture.md (one line each, what it owns): {undocumented}"
    )


def test_the_package_list_sees_new_packages(tmp_path):
    # The check above must notice a package added anywhere it looks, not only the ones that exist today.
    for folder in ("saas/newthing", "saas/modules/crm_extra", "saas/modules/core/deep"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "saas/modules/crm_extra/module.py").write_text("")
    (tmp_path / "saas/modules/core/deep/__init__.py").write_text("")
    (tmp_path / "saas/modules/core/__pycache__").mkdir()
    assert packages_to_document(tmp_path) == {
        "saas/newthing/",
        "saas/modules/",
        "saas/modules/crm_extra/",
        "saas/modules/core/deep/",
    }
