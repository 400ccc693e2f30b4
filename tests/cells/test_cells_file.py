"""Declaring cells: a TOML file for what may be read, the environment for secrets, and one default cell
from today's settings when nothing is declared."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask

from saas.app import configure
from saas.cells import DEFAULT_CELL, CellConfigError, read_cells_file
from saas.config import Settings

CELLS = """
[cells.default]
region = "eu-central"
label = "European Union (Frankfurt)"

[cells.ru]
region = "ru"
label = "Russia (Moscow)"
database_url = "postgresql://saas@pg.ru.internal/saas"
tenant_database_url = "postgresql://pgbouncer.ru.internal:6432/saas"
redis_url = "redis://redis.ru.internal:6379/0"
s3_bucket = "crm-ru"
"""


def _configured(monkeypatch, tmp_path, text: str | None) -> Flask:
    if text is None:
        monkeypatch.delenv("CELLS_FILE", raising=False)
    else:
        (tmp_path / "cells.toml").write_text(text)
        monkeypatch.setenv("CELLS_FILE", str(tmp_path / "cells.toml"))
    settings = dataclasses.replace(  # real-looking URLs, so that configuring starts no embedded server
        Settings.from_environment(),
        database_url="postgresql://u:p@db.invalid/crm",
        redis_url="redis://cache.invalid:6379/0",
        tenant_database_url=None,
    )
    app = Flask(__name__)
    configure(app, settings)
    return app


def test_nothing_declared_is_one_default_cell_on_the_main_database(monkeypatch, tmp_path):
    app = _configured(monkeypatch, tmp_path, None)
    [cell] = list(app.extensions["cells"])
    assert cell.name == DEFAULT_CELL and cell.signup
    assert cell.database_url == "postgresql+psycopg://u:p@db.invalid/crm"
    pools = app.extensions["tenant_pools"].settings
    assert pools.cell_urls == {} and pools.server_url(DEFAULT_CELL).host == "db.invalid"


def test_a_cells_file_adds_cells_in_its_order_and_their_secrets_come_from_the_environment(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("CELL_RU_DATABASE_URL", "postgresql://saas:s3cret@pg.ru.internal/saas")
    app = _configured(monkeypatch, tmp_path, CELLS)
    default, ru = app.extensions["cells"]
    assert (default.name, default.region, default.label) == (
        DEFAULT_CELL,
        "eu-central",
        "European Union (Frankfurt)",
    )
    assert default.database_url == "postgresql+psycopg://u:p@db.invalid/crm"  # always the main database
    assert (ru.region, ru.s3_bucket, ru.database_url) == (
        "ru",
        "crm-ru",
        "postgresql://saas:s3cret@pg.ru.internal/saas",
    )
    # Tenants of the ru cell log in through its PgBouncer, never with the admin's credentials.
    url = app.extensions["tenant_pools"].settings.server_url("ru")
    assert (url.host, url.port, url.username, url.password) == ("pgbouncer.ru.internal", 6432, None, None)
    with pytest.raises(LookupError):
        app.extensions["tenant_pools"].settings.server_url("cn")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (
            '[cells.ru]\nregion = "ru"\nlabel = "Russia"\ndatabase_url = "postgresql://saas:pw@h/db"\n',
            "CELL_RU_DATABASE_URL",
        ),
        ('[cells.ru]\nregion = "ru"\nlabel = "Russia"\n', "no database_url"),
        ('[cells.ru]\nlabel = "Russia"\ndatabase_url = "postgresql://saas@h/db"\n', "region is missing"),
        (
            '[cells.ru]\nregion = "ru"\nlabel = "R"\ndatabase_url = "postgresql://h/db"\npassword = "x"\n',
            "unknown keys",
        ),
        ('[cells."Ru Cell"]\nregion = "ru"\nlabel = "R"\ndatabase_url = "postgresql://h/db"\n', "cell name"),
        ("[cells.ru\n", "cells file"),
    ],
)
def test_a_wrong_cells_file_is_refused_in_one_line_naming_the_fix(tmp_path, text, complaint):
    path = tmp_path / "cells.toml"
    path.write_text(text)
    with pytest.raises(CellConfigError, match=complaint):
        read_cells_file(path, environ={})
