"""Operating the app: JSON logs with request and tenant ids, health, readiness and Prometheus metrics.

Everything an orchestrator or an on-call engineer reads from a running process comes from here, so
what may appear in logs (ids, never personal data) and in metrics (endpoint names, never raw paths)
is decided in one place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed into logs and headers, so only a short, plain token is accepted.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Addresses are personal data; this catches the ones a library or a careless message lets through,
# including URL-encoded ones in a logged query string.
_EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
READINESS_TIMEOUT_SECONDS = 2
UNMATCHED_ENDPOINT = "<unmatched>"
# Fields every log line carries, in this order; anything passed in ``extra`` follows them.
_STANDARD_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

observability = Blueprint("observability", __name__)


def redact(text_: str) -> str:
    """Replace anything that looks like an email address: log lines must not carry personal data."""
    return _EMAIL.sub("[email]", text_)


class RequestContextFilter(logging.Filter):
    """Stamp each record with the current request's id and tenant id (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = None
        record.tenant_id = None
        if has_request_context():
            record.request_id = g.get("request_id")
            tenant = g.get("tenant")
            record.tenant_id = getattr(tenant, "id", None)
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, tenant_id, then extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
            "tenant_id": getattr(record, "tenant_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_FIELDS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record arrives (runners and test harnesses swap it),
    unless a stream was set explicitly."""

    def __init__(self) -> None:
        self._explicit_stream: TextIO | None = None
        super().__init__()

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._explicit_stream or sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._explicit_stream = None if value is sys.stderr else value


def json_log_handler() -> logging.StreamHandler:
    """The root logger's JSON handler, created on first use; one per process."""
    root = logging.getLogger()
    for existing in root.handlers:
        if isinstance(existing, CurrentStderrHandler):
            return existing
    handler = CurrentStderrHandler()
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


# Lines every job, every minute, writes (rq's "Job OK", the scheduler's enqueues, fan-out summaries,
# alembic's plugin set-up, the development inbox's SMTP chatter): in development they would scroll the
# URL and demo login of `saas dev` away.
ROUTINE_LOGGERS = (
    "rq.worker",
    "rq.scheduler",
    "rq.cron",
    "saas.jobs.schedules",
    "saas.jobs.fanout",
    "alembic",
    "mail.log",
)


def configure_logging(environment: str = "production") -> None:
    """Route every logger through the JSON handler, replacing plain ``basicConfig`` stream handlers.

    In development, routine job logs say nothing at INFO; their warnings and errors still show."""
    root = logging.getLogger()
    handler = json_log_handler()
    for existing in list(root.handlers):
        # Exact type only: test harnesses attach their own StreamHandler subclasses, which stay.
        if type(existing) is logging.StreamHandler and existing is not handler:
            root.removeHandler(existing)
    if handler not in root.handlers:
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    if environment == "development":
        for name in ROUTINE_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


class RequestMetrics:
    """Request count and latency per endpoint name and status: bounded label sets, whatever the URLs."""

    def __init__(self) -> None:
        # A registry per app: tests and benchmarks build several apps in one process.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests handled, by endpoint name, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the start of a request to its response, by endpoint name and method.",
            ["endpoint", "method"],
            registry=self.registry,
        )

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(seconds)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes; merges gunicorn workers when multiprocess mode is on."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def _request_id_from_header() -> str:
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    return candidate if _VALID_REQUEST_ID.match(candidate) else uuid.uuid4().hex


def _start_request() -> None:
    g.request_id = _request_id_from_header()
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a request that failed before our before_request ran
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or UNMATCHED_ENDPOINT
    current_app.extensions["saas_metrics"].observe(endpoint, request.method, response.status_code, seconds)
    response.headers[REQUEST_ID_HEADER] = g.request_id
    # The endpoint name, not the path: paths and query strings can carry addresses and signed tokens.
    log.info(
        "request",
        extra={
            "method": request.method,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
    return response


@observability.route("/healthz")
def healthz():
    """Liveness: the process answers. Deliberately checks nothing else, so a database outage
    makes the orchestrator stop routing traffic (readiness) instead of killing every task."""
    return {"status": "ok"}


def _readiness_engine() -> Engine:
    """A connection-per-probe engine with short timeouts, apart from the request pool."""
    engine = current_app.extensions.get("saas_readiness_engine")
    if engine is None:
        engine = create_engine(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            poolclass=NullPool,
            connect_args={
                "connect_timeout": READINESS_TIMEOUT_SECONDS,
                "options": f"-c statement_timeout={READINESS_TIMEOUT_SECONDS * 1000}",
            },
        )
        current_app.extensions["saas_readiness_engine"] = engine
    return engine


def database_answers() -> bool:
    with _readiness_engine().connect() as connection:
        return connection.execute(text("SELECT 1")).scalar() == 1


def redis_answers() -> bool:
    client = Redis.from_url(
        current_app.config["REDIS_URL"],
        socket_timeout=READINESS_TIMEOUT_SECONDS,
        socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    finally:
        client.close()


READINESS_CHECKS = {"database": database_answers, "redis": redis_answers}


@observability.route("/readyz")
def readyz():
    """Readiness: 200 when the database and Redis answer, else 503 naming what is down."""
    checks: dict[str, str] = {}
    for name, answers in READINESS_CHECKS.items():
        try:
            checks[name] = "ok" if answers() else "down"
        except Exception as error:
            # The class name only: driver messages can carry host names and user names.
            log.warning("readiness check failed", extra={"check": name, "error": type(error).__name__})
            checks[name] = "down"
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "unavailable" if down else "ready", "checks": checks, "down": down}
    response = jsonify(body)
    response.status_code = 503 if down else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@observability.route("/metrics")
def metrics():
    """Prometheus scrape target; the load balancer keeps it off the public internet."""
    return Response(current_app.extensions["saas_metrics"].exposition(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Install JSON logging, request ids, metrics and the health, readiness and metrics routes."""
    configure_logging(app.config["SAAS_SETTINGS"].environment)
    app.extensions["saas_metrics"] = RequestMetrics()
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(observability)
