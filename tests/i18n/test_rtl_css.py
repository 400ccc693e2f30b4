"""The style sheet mirrors for right-to-left pages: logical properties only, no physical left/right."""

from __future__ import annotations

import re
from pathlib import Path

import saas

STYLE_SHEETS = sorted(Path(saas.__file__).parent.rglob("*.css"))
PHYSICAL = re.compile(
    r"(?<![\w-])(?:margin|padding|border)-(?:left|right)\b|(?<![\w-])(?:left|right)\s*:"
    r"|text-align\s*:\s*(?:left|right)|float\s*:\s*(?:left|right)"
)


def test_style_sheets_use_logical_properties_so_persian_pages_mirror():
    assert STYLE_SHEETS
    found = {
        f"{path.name}:{number}": line.strip()
        for path in STYLE_SHEETS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PHYSICAL.search(line)
    }
    assert found == {}


def test_the_check_sees_a_physical_property():
    assert PHYSICAL.search(".x { margin-left: 1rem }") and PHYSICAL.search("td { text-align:right }")
    assert not PHYSICAL.search(".x { margin-inline-start: 1rem; inset-inline-start: 0 }")
