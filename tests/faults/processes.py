"""The fault suite's real processes: ``saas worker`` as a subprocess, killed as a machine's loss kills it."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psutil

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit  # a safety net, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def start_worker(
    app,
    *,
    burst: bool = True,
    file_size_limit: int | None = None,
    log: IO[bytes] | None = None,
    **env: str,
) -> subprocess.Popen:
    """``saas worker`` in its own process, as production runs it, against the test's services (``env``:
    further settings for it). ``burst``: it stops once the queues are empty, and runs no scheduler;
    otherwise it runs as deployed, with its ``saas scheduler`` process beside it. ``file_size_limit``:
    no file it writes may grow past that many bytes (``RLIMIT_FSIZE``; writes then fail with ``EFBIG``,
    as they fail with ``ENOSPC`` on a full disk: Python ignores the ``SIGXFSZ`` signal). ``log``: where
    its output goes (none by default)."""
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        **env,
    }

    def limit_file_size() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, resource.RLIM_INFINITY))

    return subprocess.Popen(
        [sys.executable, "-m", "saas.cli", "worker", *(["--burst", "--no-scheduler"] if burst else [])],
        cwd=ROOT, env=environment, stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
        preexec_fn=limit_file_size,
    )  # fmt: skip


def kill_with_its_horse(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and the work horse RQ forked for the job (in a process group of its own), as a
    container's end or a machine's loss does; killing only the parent would leave the horse to finish."""
    processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=30)
    worker.wait()
