"""Cells of the CSV files we write for people to open in a spreadsheet (reports, import error reports).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and skips a leading
tab or carriage return before deciding (OWASP, "CSV Injection"): such a cell gets a leading ``'`` so it
stays text. Archive exports are not for spreadsheets and keep every byte as stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """``value`` as a cell no spreadsheet runs: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One CSV line (with its line break) of ``values``, each made :func:`formula_safe`."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([formula_safe(value) for value in values])
    return buffer.getvalue()
