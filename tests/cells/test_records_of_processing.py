"""The records of processing say where a workspace's data lives: its own cell's region, on the page and in
the CSV, and never the other cell's."""

from __future__ import annotations

import csv
import io

import pytest

from saas.cells import DEFAULT_CELL
from tests.cells.conftest import CELL_B
from tests.conftest import login

pytestmark = pytest.mark.usefixtures("leave_no_cell_b_tenants")

LABELS = {DEFAULT_CELL: "European Union (Frankfurt)", CELL_B: "Russia (Moscow)"}
REGIONS = {DEFAULT_CELL: f"{LABELS[DEFAULT_CELL]} (eu-central)", CELL_B: f"{LABELS[CELL_B]} (ru)"}


@pytest.mark.parametrize("cell", [CELL_B, DEFAULT_CELL])
def test_the_record_names_the_workspace_cells_region_only(app, app_ctx, make_cell_tenant, cell):
    tenant = make_cell_tenant(cell)
    client = app.test_client()
    login(client, tenant.email, tenant.password)
    page = client.get(f"/t/{tenant.slug}/privacy/records-of-processing")
    assert page.status_code == 200
    assert f'<dd id="data-region">{REGIONS[cell]}</dd>' in page.text
    assert f"None: stored only in {REGIONS[cell]}." in page.text
    other = LABELS[CELL_B if cell == DEFAULT_CELL else DEFAULT_CELL]
    assert other not in page.text
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/t/{tenant.slug}/privacy/records-of-processing.csv").text))
    )
    assert rows and {row["Where the data lives"] for row in rows} == {REGIONS[cell]}
    files = next(row for row in rows if row["Processing activity"] == "Files")
    assert files["Recipients"] == f"File storage (object storage in {LABELS[cell]})"
