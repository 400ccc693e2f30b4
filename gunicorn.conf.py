"""gunicorn settings for the web service (``gunicorn wsgi:app -c gunicorn.conf.py``), from the environment.

Threads (gthread) rather than many processes: requests mostly wait on PostgreSQL, and each process
holds its own connection pool, so keep ``DB_POOL_SIZE`` >= ``GUNICORN_THREADS``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _cpus() -> int:
    # The CPUs this container may use (a Fargate task's vCPUs), not the host's.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# All interfaces by default: inside a container the load balancer reaches the task's own address.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", 2 * _cpus() + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# A worker silent this long is restarted; in-flight requests get graceful_timeout to finish on
# SIGTERM (ECS sends it at a rolling deploy and waits stopTimeout, which is longer).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the ALB's idle timeout (60 s), so the balancer never reuses a connection we closed.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# No runtime control socket: it lives in $HOME (read-only in the container) and we manage the
# process with signals (ECS sends SIGTERM).
control_socket_disable = True
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
# The ALB's addresses vary; the VPC's security groups allow only the ALB to reach the task.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app logs one JSON line per request (saas.observability), so no access log here; gunicorn's
# own messages go through the same JSON formatter.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "saas.observability.JsonLogFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    # The app adds its own JSON handler to the root logger (saas.observability.configure_logging).
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


def on_starting(server) -> None:
    """Start each deployment with an empty Prometheus multiprocess folder (stale files skew counts)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    """Let Prometheus forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
