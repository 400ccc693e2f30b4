"""Timing helpers the benches share: milliseconds per call after a warm-up, and percentiles of them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

# `python bench/x.py` puts bench/ first on the path, not the checkout: without this the editable
# install's `saas` (possibly another worktree's) would be the one measured.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from collections.abc import Callable


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed(call: Callable[[], object], repeat: int, warmup: int = 5) -> list[float]:
    """``repeat`` wall-clock timings of ``call`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


SUMMARY_MARK = "BENCH-SUMMARY "


def summary(figure: str, goal: str, measured: float, baseline: float | None, ratio: float | None) -> None:
    """One machine-readable line for ``make bench``'s table (bench/all.py reads the lines it prints)."""
    import json

    row = {"figure": figure, "goal": goal, "measured": measured, "baseline": baseline, "ratio": ratio}
    print(SUMMARY_MARK + json.dumps(row), flush=True)
