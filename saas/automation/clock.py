"""The automation engine's clock: the real time, moved forward only by tests (``advance``) so that a wait of
a day passes without waiting a day. Outside ``SAAS_ENV=test`` the offset is refused."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """What time the engine believes it is (aware, UTC)."""
    return datetime.now(UTC) + _offset


def advance(by: timedelta) -> None:
    """Move the engine's clock forward (tests only: production's clock is the real one)."""
    global _offset
    if os.environ.get("SAAS_ENV") != "test":
        raise RuntimeError("the automation clock moves only under SAAS_ENV=test")
    _offset += by


def reset() -> None:
    global _offset
    _offset = timedelta(0)
