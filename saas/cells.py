"""Cells: where a tenant's data lives. A cell is one PostgreSQL cluster, one Redis and one S3 bucket in one
region; the platform schema (the directory: tenants, users, billing, the tenant -> cell map) stays global.

Operators declare cells in a TOML file (``CELLS_FILE``); secrets come only from the environment
(``CELL_<NAME>_DATABASE_URL``...). With nothing declared there is one cell, ``default``, built from
``DATABASE_URL``/``TENANT_DATABASE_URL``/``REDIS_URL``/``S3_BUCKET``: a single machine needs nothing new.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from flask import Flask

    from saas.config import Settings

DEFAULT_CELL = "default"
CELL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
"""A cell's name reaches environment variable names, the directory and log lines: kept plain."""

_URL_FIELDS = ("database_url", "tenant_database_url", "redis_url")
_S3_FIELDS = ("s3_bucket", "s3_endpoint_url", "s3_region")
_FIELDS = frozenset({"region", "label", "signup", *_S3_FIELDS, *_URL_FIELDS})


class CellConfigError(ValueError):
    """The cells file is wrong; the message names the cell and what to fix, in one line."""


@dataclass(frozen=True)
class Cell:
    """One cell as the operator declared it."""

    name: str
    region: str
    """Where the data lives, e.g. ``eu-central``, ``ru``, ``cn`` (shown with the label)."""
    label: str
    """What people read: "European Union (Frankfurt)"."""
    database_url: str | None = None
    """The admin (schema and role owner) URL for DDL; ``None`` only for ``default`` (``DATABASE_URL``)."""
    tenant_database_url: str | None = None
    """Where tenant roles log in (PgBouncer possible); none: ``database_url``'s server."""
    redis_url: str | None = None
    s3_bucket: str | None = None
    signup: bool = True
    """Whether signup offers this cell (a cell being retired takes no new tenants)."""
    s3_endpoint_url: str | None = None
    """The S3 endpoint of ``s3_bucket`` (a regional provider's); none: ``S3_ENDPOINT_URL``."""
    s3_region: str | None = None
    """The region of ``s3_bucket`` (presigned links are signed for it); none: ``AWS_REGION``."""

    def __post_init__(self) -> None:
        if not CELL_NAME.match(self.name):
            raise CellConfigError(f"cell name {self.name!r}: use 1-30 lowercase letters, digits or _")


def default_cell(settings: Settings) -> Cell:
    """The cell of a single-machine install, from today's settings (its URLs are resolved by the app)."""
    return Cell(
        name=DEFAULT_CELL,
        region="default",
        label="Default",
        tenant_database_url=settings.tenant_database_url,
        redis_url=settings.redis_url,
        s3_bucket=settings.s3_bucket,
    )


def _env_name(cell: str, field: str) -> str:
    return f"CELL_{cell.upper()}_{field.upper()}"


def _refuse_secret_in_file(name: str, field: str, url: str) -> None:
    if make_url(url).password:
        raise CellConfigError(
            f"cell {name}: {field} in the cells file carries a password; "
            f"set {_env_name(name, field)} in the environment instead"
        )


def read_cells_file(path: Path, environ: dict[str, str] | os._Environ = os.environ) -> tuple[Cell, ...]:
    """The cells of a TOML file (``[cells.<name>]`` tables, in file order), URLs overridden (and
    completed with secrets) by ``CELL_<NAME>_DATABASE_URL``, ``…_TENANT_DATABASE_URL``, ``…_REDIS_URL``.

    A ``[cells.default]`` table gives the default cell its region, label and signup switch only: its
    servers are always the main settings'.
    """
    try:
        declared = tomllib.loads(path.read_text()).get("cells", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CellConfigError(f"cells file {path}: {error}") from error
    cells = []
    for name, table in declared.items():
        if not isinstance(table, dict) or set(table) - _FIELDS:
            raise CellConfigError(f"cell {name}: unknown keys {sorted(set(table) - _FIELDS)}")
        values = dict(table)
        for field in _URL_FIELDS:
            if values.get(field):
                _refuse_secret_in_file(name, field, values[field])
            if environ.get(_env_name(name, field)):
                values[field] = environ[_env_name(name, field)]
        if name == DEFAULT_CELL:
            values = {k: v for k, v in values.items() if k not in _URL_FIELDS and k not in _S3_FIELDS}
        elif not values.get("database_url"):
            raise CellConfigError(f"cell {name}: no database_url (set {_env_name(name, 'database_url')})")
        for required in ("region", "label"):
            if not values.get(required):
                raise CellConfigError(f"cell {name}: {required} is missing")
        cells.append(Cell(name=name, **values))
    return tuple(cells)


def declared_cells(settings: Settings, database_url: str, redis_url: str) -> tuple[Cell, ...]:
    """Every cell of this install: the default one (always; from the main settings, with the resolved
    ``database_url``/``redis_url``) and those of ``settings.cells``, in their order."""
    default = replace(default_cell(settings), database_url=database_url, redis_url=redis_url)
    cells: list[Cell] = []
    for cell in settings.cells:
        if cell.name == DEFAULT_CELL:
            cells.append(replace(default, region=cell.region, label=cell.label, signup=cell.signup))
        else:
            cells.append(cell)
    if all(cell.name != DEFAULT_CELL for cell in cells):
        cells.insert(0, default)
    return tuple(cells)


class CellDirectory:
    """The cells of one app, and each one's admin engine (created on first use)."""

    def __init__(self, cells: tuple[Cell, ...], platform_engine: Callable[[], Engine]) -> None:
        self.cells = {cell.name: cell for cell in cells}
        self._platform_engine = platform_engine
        self._engines: dict[str, Engine] = {}

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells.values())

    def get(self, name: str) -> Cell:
        try:
            return self.cells[name]
        except KeyError:
            raise LookupError(f"no cell {name!r} is declared (CELLS_FILE)") from None

    def signup_cells(self) -> list[Cell]:
        """The cells signup offers, the first one being the default choice."""
        return [cell for cell in self.cells.values() if cell.signup]

    def admin_engine(self, name: str) -> Engine:
        """The engine that creates, repairs and drops tenant roles and schemas in cell ``name``.

        The default cell's cluster is the platform's, so it is the platform engine: provisioning there
        stays one transaction with the directory rows.
        """
        if name == DEFAULT_CELL:
            return self._platform_engine()
        engine = self._engines.get(name)
        if engine is None:
            from saas.embedded import normalise_database_url

            url = normalise_database_url(self.get(name).database_url or "")
            engine = self._engines[name] = create_engine(url, pool_pre_ping=True, pool_size=2)
        return engine

    def dispose(self, *, close: bool = True) -> None:
        for engine in self._engines.values():
            engine.dispose(close=close)


def init_app(app: Flask, cells: tuple[Cell, ...]) -> None:
    from saas.db import db

    app.extensions["cells"] = CellDirectory(cells, lambda: db.engine)
    # Pages say where a workspace's data lives (settings, privacy center): ``data_region(tenant.cell)``.
    app.add_template_global(data_region)


def data_region(cell: str) -> Cell:
    """The cell ``cell`` as pages show it (label and region); an undeclared one by its name alone."""
    try:
        return cell_directory().get(cell)
    except LookupError:
        return Cell(name=cell, region=cell, label=cell)


def cell_directory() -> CellDirectory:
    """This app's cells (see :func:`init_app`)."""
    from flask import current_app

    return current_app.extensions["cells"]


def admin_engine(cell: str) -> Engine:
    """The admin engine of ``cell`` in this app."""
    return cell_directory().admin_engine(cell)


def tenant_cell(tenant_id: str) -> str:
    """The cell the directory places tenant ``tenant_id`` in, read now (a move switches it at any time).

    Read on a connection of its own, so that callers in the middle of a tenant transaction (jobs queued
    after a commit, objects stored by a job) neither open nor end the platform session's transaction.
    """
    from sqlalchemy import select

    from saas.db import db
    from saas.tenants.models import Tenant

    with db.engine.connect() as connection:
        row = connection.execute(select(Tenant.cell).where(Tenant.id == tenant_id)).first()
    if row is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    return row.cell or DEFAULT_CELL
