"""The image definition runs the app the README runs: its commands match the project's entry points.

No container engine runs here, so the Dockerfile is read as data and each command it names is
resolved the way gunicorn and the console script resolve it, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import runpy
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gunicorn.config import Config

REPO = Path(__file__).resolve().parent.parent
WEB_COMMAND = ["gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for name, arguments in self.instructions if name == keyword]


def parse_dockerfile(path: Path) -> list[Stage]:
    """Instructions per build stage, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, arguments.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(REPO / "Dockerfile")


@pytest.fixture(scope="module")
def runtime(stages) -> Stage:
    return stages[-1]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter from the repository root, as the container's WORKDIR."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_image_is_multi_stage_and_the_runtime_takes_the_built_virtualenv(stages, runtime):
    assert len(stages) >= 2
    build_names = {stage.name for stage in stages[:-1]}
    copies_from_build = [c for c in runtime.all("COPY") if c.startswith("--from=")]
    assert copies_from_build, "the runtime stage must copy the build stage's output"
    assert all(c.split()[0].removeprefix("--from=") in build_names for c in copies_from_build)
    assert not any("pip install" in run for run in runtime.all("RUN")), "install in the build stage"


def test_build_stage_installs_this_package(stages):
    build = stages[0]
    copied = " ".join(build.all("COPY"))
    assert "pyproject.toml" in copied and "saas" in copied
    assert any(word == "." for run in build.all("RUN") for word in shlex.split(run.replace("&&", " ")))


def test_runtime_runs_as_a_non_root_user_that_the_image_creates(runtime):
    users = runtime.all("USER")
    assert users, "the runtime stage must switch user"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    created = " ".join(runtime.all("RUN"))
    assert "useradd" in created and user in created.split()


def test_default_command_is_gunicorn_serving_wsgi_app_with_the_config_file(runtime):
    commands = runtime.all("CMD")
    assert commands, "no CMD"
    assert json.loads(commands[-1]) == WEB_COMMAND  # exec form: gunicorn is PID 1 and gets SIGTERM
    copied = " ".join(runtime.all("COPY")).split()
    assert "wsgi.py" in copied and "gunicorn.conf.py" in copied


def test_every_file_the_image_copies_exists_and_is_not_docker_ignored(stages):
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for stage in stages:
        for arguments in stage.all("COPY"):
            words = [w for w in arguments.split() if not w.startswith("--")]
            if arguments.startswith("--from="):
                continue
            for source in words[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: no such file"
                assert source not in ignored, f"COPY {source} is excluded by .dockerignore"


def test_wsgi_app_is_what_gunicorn_imports():
    # gunicorn's own loader, in a fresh process: exactly what `gunicorn wsgi:app` does at boot.
    result = run_python(
        "from gunicorn.util import import_app; from flask import Flask; "
        "app = import_app('wsgi:app'); assert isinstance(app, Flask), type(app); "
        "print(sorted(r.rule for r in app.url_map.iter_rules() if r.rule in ('/healthz', '/readyz')))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['/healthz', '/readyz']"


def test_gunicorn_conf_loads_and_every_setting_is_valid_for_gunicorn():
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    config = Config()
    known = {k: v for k, v in settings.items() if k in config.settings}
    for name, value in known.items():
        config.set(name, value)  # gunicorn's own validators
    assert {"bind", "workers", "threads", "timeout", "graceful_timeout"} <= set(known)


def test_gunicorn_conf_takes_port_and_concurrency_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert settings["bind"].endswith(":9123")
    assert (settings["workers"], settings["threads"]) == (3, 6)


def test_worker_command_is_the_saas_console_script_of_pyproject():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["saas"] == "saas.cli:main"
    # The installed script, as the worker task runs it; --help resolves the command without running it.
    saas = Path(sys.executable).parent / "saas"
    result = subprocess.run(
        [str(saas), "worker", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "RQ worker" in result.stdout
