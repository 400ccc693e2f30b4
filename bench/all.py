"""``make bench``: every bench at sizes that fit about 15 minutes on a 2-core machine, then one table.

Each bench runs in a process of its own (its output is shown as it comes) and prints its figures as
``BENCH-SUMMARY`` lines (:func:`figures.summary`); this collects them into one table: figure, goal,
measured, baseline (from the same run, or named where it is not), ratio. A bench that fails is listed
as failed, and the run exits non-zero. The machine's load average is printed before each bench: on a
shared machine the figures move with it.

    .venv/bin/python bench/all.py [--only provision,load]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from figures import SUMMARY_MARK

BENCH = Path(__file__).resolve().parent
# (bench, arguments): sizes chosen so the whole set takes about 15 minutes here.
PLAN: list[tuple[str, list[str]]] = [
    ("provision", ["--tenants", "20", "--against-django-tenants"]),
    ("load", ["--tenants", "10", "--contacts", "2000", "--seconds", "15"]),
    ("export", ["--rows", "300000"]),
    ("campaign", ["--consented", "100000", "--withdrawn", "10000", "--send", "500"]),
    ("mail_sync", ["--messages", "1000", "--unknown", "100"]),
    ("import", ["--rows", "50000"]),
    ("vendor_import", ["--rows", "50000"]),
    ("tenants_migrate", ["--tenants", "200", "--jobs", "2"]),
    ("service", ["--tickets", "20000", "--articles", "5000", "--repeat", "30"]),
    ("api", ["--contacts", "20000", "--repeat", "50", "--search-repeat", "10"]),
    ("website_events", ["--batches", "1000", "--batch", "20"]),
    ("workflows", ["--enrolled", "20000", "--advance", "5000"]),
    ("move", ["--contacts", "20000"]),
]


def run(name: str, arguments: list[str]) -> tuple[list[dict], bool, float]:
    """Run one bench, echoing its output; its summary rows, whether it succeeded, and its seconds."""
    print(f"\n=== {name} {' '.join(arguments)}   (load average {os.getloadavg()[0]:.2f})", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BENCH.parent,
    )  # fmt: skip
    rows = []
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(SUMMARY_MARK):
            rows.append(json.loads(line[len(SUMMARY_MARK) :]))
        elif not line.startswith('{"time"'):  # the app's JSON log lines would drown the figures
            print(line, end="", flush=True)
    return rows, process.wait() == 0, time.monotonic() - started


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(results: list[tuple[str, list[dict], bool, float]]) -> str:
    header = ("figure", "goal", "measured", "baseline", "ratio")
    lines = []
    for name, rows, ok, _ in results:
        if not ok:
            lines.append((f"{name}: FAILED (see its output above)", "", "", "", ""))
        for row in rows:
            lines.append((
                row["figure"], row["goal"], _number(row["measured"]), _number(row["baseline"]),
                _number(row["ratio"], 2),
            ))  # fmt: skip
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
    render = [
        " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in [header, *lines]
    ]
    render.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(render)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="comma-separated bench names")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    started = time.monotonic()
    load_before = os.getloadavg()
    results = []
    for name, arguments in PLAN:
        if chosen is None or name in chosen:
            rows, ok, seconds = run(name, arguments)
            results.append((name, rows, ok, seconds))
    minutes = (time.monotonic() - started) / 60
    print(f"\n=== summary ({minutes:.1f} min; load average before {load_before[0]:.2f}, "
          f"after {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")  # fmt: skip
    print(table(results))
    sys.exit(0 if all(ok for _, _, ok, _ in results) else 1)


if __name__ == "__main__":
    main()
