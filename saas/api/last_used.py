"""When personal API tokens were last used, gathered in memory and written in one statement per minute.

Writing ``last_used_at`` on the request that used the token cost a platform transaction per API call;
the page that shows it needs minutes, not milliseconds. Each process keeps the latest use per token
and writes them all with one ``UPDATE … FROM (VALUES …)`` once ``interval`` has passed (and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import uuid
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError

_FLUSH = text(
    "UPDATE platform.api_tokens AS t SET last_used_at = u.used_at "
    "FROM jsonb_to_recordset(:uses) AS u(id uuid, used_at timestamptz) "
    "WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.used_at)"
).bindparams(bindparam("uses", type_=JSONB))


class LastUsedRecorder:
    """The latest use of each token seen by this process since the last write."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._uses: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._last_write = time.monotonic()
        atexit.register(self._flush_at_exit)

    def note(self, token_id: str) -> None:
        """Remember a use now; write every remembered use if the interval has passed."""
        with self._lock:
            self._uses[token_id] = datetime.now(UTC)
            due = time.monotonic() - self._last_write >= self.interval
        if due:
            self.flush()

    def flush(self) -> int:
        """Write the remembered uses now (one statement); returns how many tokens were written."""
        with self._lock:
            uses, self._uses = self._uses, {}
            self._last_write = time.monotonic()
        if not uses:
            return 0
        rows = [{"id": str(uuid.UUID(token_id)), "used_at": at.isoformat()} for token_id, at in uses.items()]
        with self.engine.begin() as connection:
            connection.execute(_FLUSH, {"uses": rows})
        return len(rows)

    def _flush_at_exit(self) -> None:
        # A database already gone at exit loses at most a minute of "last used".
        with contextlib.suppress(SQLAlchemyError):
            self.flush()


def last_used_recorder() -> LastUsedRecorder:
    """This app's recorder (``API_LAST_USED_SECONDS``, default 60, between writes)."""
    from saas.db import db

    recorder = current_app.extensions.get("api_last_used")
    if recorder is None:
        interval = float(current_app.config.get("API_LAST_USED_SECONDS", 60))
        recorder = current_app.extensions.setdefault("api_last_used", LastUsedRecorder(db.engine, interval))
    return recorder
