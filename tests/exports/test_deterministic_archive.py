"""Two exports of the same data, made by two processes, are the same bytes (but for when they were made)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.exports.fixtures import fill_every_table

REPO = Path(__file__).resolve().parents[2]
CREATED_AT = re.compile(rb'"created_at": "[^"]*"')


def _export_in_a_process(slug: str, out: Path, s3_endpoint: str, hash_seed: str) -> None:
    # Each process hashes strings with its own seed, so a set's order (SQLAlchemy keeps a table's foreign
    # keys in one) differs between them as it does between two runs of the export job.
    env = {
        **os.environ,
        "PYTHONHASHSEED": hash_seed,
        "PYTHONPATH": str(REPO),
        "S3_BUCKET": "exports-test",
        "S3_ENDPOINT_URL": s3_endpoint,
    }
    # The export service itself, not `saas export`: the command audits each export, and the audit log
    # is in the archive, so the second archive would rightly differ from the first.
    script = (
        "import sys\n"
        "from saas import create_app\n"
        "from saas.db import db\n"
        "from saas.exports.services import export_tenant_to_file\n"
        "from saas.tenants.models import Tenant\n"
        "with create_app().app_context():\n"
        "    tenant = db.session.query(Tenant).filter_by(slug=sys.argv[1]).one()\n"
        "    with open(sys.argv[2], 'wb') as target:\n"
        "        export_tenant_to_file(tenant, target)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, slug, str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.usefixtures("s3")
def test_two_processes_export_the_same_data_as_the_same_bytes(tenant_a, s3_server, tmp_path):
    fill_every_table(tenant_a)

    _export_in_a_process(tenant_a.slug, tmp_path / "one.zip", s3_server, "1")
    _export_in_a_process(tenant_a.slug, tmp_path / "two.zip", s3_server, "2")

    one, two = _entries(tmp_path / "one.zip"), _entries(tmp_path / "two.zip")
    assert one.keys() == two.keys()
    assert b'"foreign_keys"' in one["manifest.json"]
    # The manifest differs only in its documented creation time.
    assert CREATED_AT.sub(b"", one.pop("manifest.json")) == CREATED_AT.sub(b"", two.pop("manifest.json"))
    assert one == two
