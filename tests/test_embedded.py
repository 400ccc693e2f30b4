"""``saas stop-embedded`` (``make stop``, and ``make test`` when it ends) stops the embedded PostgreSQL
and Redis that ``make dev`` and the tests leave running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from saas.embedded import stop_embedded_services

REPO = Path(__file__).resolve().parent.parent

# Starts both services for an instance folder, reports their pids, then waits to be killed, which leaves
# them running as an interrupted `make dev` or a finished `make test` does.
START_SERVICES = """
import json, sys, time
from pathlib import Path
from pgserver.utils import PostmasterInfo
from saas.embedded import embedded_database_url, embedded_redis_url, _redis_servers
instance_dir = Path(sys.argv[1])
embedded_database_url(instance_dir)
embedded_redis_url(instance_dir)
(redis,) = _redis_servers.values()
postgres = PostmasterInfo.read_from_pgdata(instance_dir / "pgdata")
print(json.dumps({"postgres": postgres.pid, "redis": redis.pid}))
sys.stdout.flush()
time.sleep(600)
"""


def start_services_and_leave_them(instance_dir: Path) -> dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    starter = subprocess.Popen(
        [sys.executable, "-c", START_SERVICES, str(instance_dir)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        pids = json.loads(starter.stdout.readline())
    finally:
        starter.send_signal(signal.SIGKILL)  # no atexit cleanup: the servers outlive it
        starter.wait(timeout=30)
        starter.stdout.close()
    return pids


def test_stop_embedded_stops_postgres_and_redis_of_every_instance_folder(tmp_path):
    root = tmp_path / "instance"
    pids = start_services_and_leave_them(root / "test-gw1")
    assert all(psutil.pid_exists(pid) for pid in pids.values())

    try:
        stopped = stop_embedded_services(root)
    finally:
        stop_embedded_services(root / "test-gw1")  # whatever a failing stop left, not kept past the test

    assert len(stopped) == 2, stopped
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (root / "test-gw1" / "redis.rdb.settings").exists()

    # A second stop finds nothing to do and says nothing; the command needs no configuration.
    again = subprocess.run(
        [sys.executable, "-m", "saas.cli", "stop-embedded", str(root)],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == "" and "Traceback" not in again.stderr
