"""Alembic histories: ``platform/`` for the platform schema, ``tenant/`` for every tenant schema.

No ``alembic.ini``: configurations are built here and always handed an open connection, so the
caller decides the transaction (and, for tenants, logs in as the tenant's role).
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from saas.db import PLATFORM_SCHEMA

HERE = Path(__file__).parent
History = Literal["platform", "tenant"]


def script_location(history: History) -> Path:
    """Where a history's revisions live.

    ``SAAS_TENANT_MIGRATIONS_DIR`` replaces the tenant history with a copy that holds extra
    revisions, so a benchmark or a test can migrate real tenants without adding a revision to the
    product's history. Bench/test only: production never sets it.
    """
    override = os.environ.get("SAAS_TENANT_MIGRATIONS_DIR")
    if history == "tenant" and override:
        return Path(override)
    return HERE / history


def alembic_config(history: History, **attributes: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location(history)))
    config.attributes.update(attributes)
    return config


@cache
def _script_directory(location: str) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", location)
    return ScriptDirectory.from_config(config)


def script_directory(history: History) -> ScriptDirectory:
    """The history's revisions, read from disk once per process (not once per tenant)."""
    return _script_directory(str(script_location(history)))


def head_revision(history: History) -> str:
    head = script_directory(history).get_current_head()
    assert head is not None, f"no {history} revisions"
    return head


def is_downgrade(history: History, target: str, current: str | None) -> bool:
    """Whether reaching ``target`` from ``current`` means going back in the history."""
    if current is None or target == current:
        return False
    if target == "base":
        return True
    revisions = script_directory(history).iterate_revisions(current, "base")
    return any(revision.revision == target for revision in revisions)


_UNREAD = object()


def _steps_towards(history: History, target: str, current: str | None):
    """Alembic's ``fn``: the revisions from where a schema is to ``target``, backwards when that is older."""
    script = script_directory(history)
    backwards = is_downgrade(history, target, current)

    def steps(revision, context):
        return (
            script._downgrade_revs(target, revision) if backwards else script._upgrade_revs(target, revision)
        )

    return steps


def rendered_steps(history: History, current: str | None, target: str) -> str | None:
    """The SQL that takes a schema from ``current`` to ``target``, version stamps included, as Alembic
    renders it offline: rendered once per process, then replayed by each tenant in one round trip instead
    of building an Alembic context per tenant (under cProfile the context cost three times the DDL).

    Revisions name no schema; ``alembic_version`` is left unqualified too, so the script runs in whatever
    schema the tenant's login finds first. ``None`` when the range cannot be rendered ahead of time: from
    nothing, to ``base``, or through a revision that reads the database (a data migration calling
    ``op.get_bind()``); the caller then runs Alembic itself.
    """
    if current is None or target in ("base", current):
        return None
    return _rendered_steps(str(script_location(history)), history, current, target)


@cache
def _rendered_steps(location: str, history: History, current: str, target: str) -> str | None:
    output = io.StringIO()
    environment = EnvironmentContext(
        alembic_config(history),
        script_directory(history),
        fn=_steps_towards(history, target, current),
        as_sql=True,
        starting_rev=current,
        destination_rev=target,
    )
    try:
        with environment:
            environment.configure(dialect_name="postgresql", output_buffer=output, transactional_ddl=False)
            environment.run_migrations()
    except Exception:  # a revision that needs a live connection: not renderable, never half rendered
        return None
    return output.getvalue()


def migrate_connection(
    history: History, connection: Connection, target: str, *, current: object = _UNREAD, **attributes: object
) -> None:
    """``alembic upgrade``/``downgrade`` to ``target`` on an open connection, reusing the cached history.

    ``current``: the revision the caller just read (saves reading it again).
    """
    config = alembic_config(history, connection=connection, **attributes)
    script = script_directory(history)
    if current is _UNREAD:
        current = current_revision(connection, str(attributes.get("tenant_schema", PLATFORM_SCHEMA)))
    steps = _steps_towards(history, target, current)  # type: ignore[arg-type]
    with EnvironmentContext(config, script, fn=steps, destination_rev=target):
        script.run_env()


def current_revision(connection: Connection, version_schema: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": version_schema})
    return context.get_current_revision()


def upgrade_platform(engine: Engine, revision: str = "head") -> str | None:
    """Bring the platform schema to ``revision``; returns the revision it is at."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PLATFORM_SCHEMA}")
        command.upgrade(alembic_config("platform", connection=connection), revision)
        return current_revision(connection, PLATFORM_SCHEMA)
