"""The ``saas`` command from a bare checkout: help needs no configuration, a missing setting is one line
saying what to set, and ``saas dev`` refuses a taken port before starting anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_saas(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    """``saas ARGS`` as a newcomer runs it: no SAAS_ENV, no SECRET_KEY, nothing but what is given."""
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(REPO), **environment}
    return subprocess.run(
        [sys.executable, "-m", "saas.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "shown"),
    [(("--help",), "tenants"), (("dev", "--help"), "--port"), (("tenants", "list", "--help"), "--json")],
)
def test_help_needs_no_configuration(tmp_path, args, shown):
    result = run_saas(*args, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "instance").exists()  # no app was built, so no service was started


def test_admin_command_without_secret_key_says_what_to_set_in_one_line(tmp_path):
    result = run_saas("tenants", "list", cwd=tmp_path)

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY is not set: export SECRET_KEY=" in lines[0]
    assert "SAAS_ENV=development" in lines[0]
    assert not (tmp_path / "instance").exists()


def test_dev_on_a_taken_port_says_which_port_to_use_instead(tmp_path):
    instance_dir = tmp_path / "instance"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_saas(
            "dev",
            "--port",
            str(port),
            cwd=tmp_path,
            SAAS_ENV="development",
            SAAS_INSTANCE_DIR=str(instance_dir),
        )

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert f"Port {port} is in use: run make dev PORT={port + 1}" in result.stderr
    assert not instance_dir.exists()  # refused before the embedded services were started
