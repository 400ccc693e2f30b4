"""Health, readiness, JSON logs and metrics, against the real database and Redis."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from saas.observability import json_log_handler
from tests.conftest import bearer, make_token


@contextmanager
def captured_json_logs() -> Iterator[list[dict]]:
    """Point the app's real JSON handler at a buffer; yields the parsed lines after the block."""
    handler = json_log_handler()
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(json.loads(line) for line in buffer.getvalue().splitlines())


def sample_value(metrics_text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}, "down": []}


def test_every_request_logs_one_json_line_with_request_and_tenant_ids(client, tenant_a):
    headers = {**bearer(make_token(tenant_a)), "X-Request-ID": "trace-42.a"}
    with captured_json_logs() as lines:
        response = client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-42.a"
    request_lines = [line for line in lines if line["message"] == "request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert {"time", "level", "logger", "message", "request_id", "tenant_id"} <= set(line)
    assert line["request_id"] == "trace-42.a"
    assert line["tenant_id"] == tenant_a.tenant.id
    assert line["endpoint"] == "core_api.contacts_collection"
    assert line["status"] == 200


def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(client):
    plain = client.get("/healthz")
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" injected {' + "a" * 200})
    for response in (plain, forged):
        generated = response.headers["X-Request-ID"]
        assert uuid.UUID(hex=generated).hex == generated
    assert plain.headers["X-Request-ID"] != forged.headers["X-Request-ID"]


def test_logs_never_carry_email_addresses(app, client, tenant_a):
    token = make_token(tenant_a)
    address = f"private.person-{uuid.uuid4().hex[:6]}@example.org"
    with captured_json_logs() as lines:
        created = client.post(
            "/api/v1/contacts", json={"last_name": "Person", "email": address}, headers=bearer(token)
        )
        searched = client.get("/api/v1/contacts", query_string={"q": address}, headers=bearer(token))
        with app.test_request_context("/"):
            logging.getLogger("saas.careless").warning("mail to %s failed", address)
    assert created.status_code == 201 and searched.status_code == 200
    text = "\n".join(json.dumps(line) for line in lines)
    assert len(lines) >= 3
    assert address not in text and address.split("@")[0] not in text
    assert any(line["message"] == "mail to [email] failed" for line in lines)


def test_metrics_count_requests_by_endpoint_name_never_by_raw_path(client, tenant_a):
    token = make_token(tenant_a)
    before = client.get("/metrics").text
    missing = [uuid.uuid4() for _ in range(3)]
    for record_id in missing:
        assert client.get(f"/api/v1/contacts/{record_id}", headers=bearer(token)).status_code == 404
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    labels = {"endpoint": "core_api.contacts_item", "method": "GET", "status": "404"}
    counted = sample_value(response.text, "http_requests_total", labels)
    assert counted - sample_value(before, "http_requests_total", labels) == 3
    # The method too: the session's app has also timed other tests' PATCHes and DELETEs of a contact.
    timed = {"endpoint": "core_api.contacts_item", "method": "GET"}
    latency = sample_value(response.text, "http_request_duration_seconds_count", timed)
    assert latency - sample_value(before, "http_request_duration_seconds_count", timed) == 3
    assert not any(str(record_id) in response.text for record_id in missing)


@pytest.fixture
def private_postgres(tmp_path: Path):
    """A PostgreSQL of this test's own (never the suite's shared one), which the test may stop."""
    import pgserver
    from pgserver.postgres_server import pg_ctl

    server = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=", 1)[1]

    def stop() -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start() -> None:
        # Same socket directory as before, so the app's DATABASE_URL stays valid.
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=30,
        )

    server.stop, server.start = stop, start
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped by the test
        stop()
    server.cleanup()


@pytest.fixture
def served_app(private_postgres, app):
    """The real entry point (gunicorn, wsgi:app, gunicorn.conf.py) on loopback, on the private database.

    A separate process, because the app factory registers module blueprints that are process
    globals, and because this is how production runs the app.
    """
    port = free_loopback_port()
    env = {
        **os.environ,
        "DATABASE_URL": private_postgres.get_uri(),
        "REDIS_URL": app.config["REDIS_URL"],
        "SAAS_ENV": "test",
        "SECRET_KEY": "readiness-test-secret",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


REPO = Path(__file__).resolve().parent.parent


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, attempts: int = 300) -> None:
    for _ in range(attempts):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            get(port, "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start listening")


def get(port: int, path: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_readyz_answers_503_while_the_database_is_down_and_200_once_it_is_back(private_postgres, served_app):
    assert get(served_app, "/readyz") == (
        200, {"status": "ready", "checks": {"database": "ok", "redis": "ok"}, "down": []}
    )  # fmt: skip

    private_postgres.stop()
    status, body = get(served_app, "/readyz")
    assert status == 503
    assert body == {
        "status": "unavailable",
        "checks": {"database": "down", "redis": "ok"},
        "down": ["database"],
    }
    assert get(served_app, "/healthz")[0] == 200  # alive, just not ready

    private_postgres.start()
    assert get(served_app, "/readyz")[0] == 200


def test_readyz_names_redis_when_redis_is_down(client, app, monkeypatch):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["down"] == ["redis"]
    assert response.json["checks"] == {"database": "ok", "redis": "down"}
