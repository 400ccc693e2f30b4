"""Issue 17 (k): hostile JSON bodies on /api/* get a 400 or 413 problem, never a 500 with a traceback.

A ~200 KB deeply nested body hit a RecursionError in the NUL-character check, unauthenticated.
"""

from __future__ import annotations

import io
import logging

import pytest

from tests.conftest import bearer, make_token

PROBLEM = "application/problem+json"


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"null" + b"}" * depth


@pytest.fixture(params=["anonymous", "authenticated"])
def headers(request, tenant_a) -> dict[str, str]:
    return bearer(make_token(tenant_a)) if request.param == "authenticated" else {}


def post(client, body: bytes, headers: dict[str, str], path: str = "/api/v1/contacts"):
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def assert_no_traceback(caplog) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert logged == [], [r.getMessage() for r in logged]


@pytest.mark.parametrize(
    "body",
    [nested_arrays(100_000), nested_objects(40_000), nested_arrays(500), nested_objects(300)],
    ids=["arrays-200KB", "objects-200KB", "arrays-500", "objects-300"],
)
def test_deeply_nested_json_is_a_400_problem_without_a_traceback(client, headers, body, caplog):
    with caplog.at_level(logging.INFO):
        answer = post(client, body, headers)
    assert answer.status_code == 400 and answer.mimetype == PROBLEM, answer.text[:300]
    assert "nested" in answer.json["detail"]
    assert_no_traceback(caplog)


def test_nesting_within_the_limit_still_reaches_the_view(client, tenant_a):
    answer = post(client, b'{"last_name": "Shallow", "custom_fields": {}}', bearer(make_token(tenant_a)))
    assert answer.status_code == 201, answer.json


def test_malformed_json_is_a_400_problem(client, headers, caplog):
    for body in (b'{"last_name": ', b"\xff\xfe{}", b"[1, 2"):
        with caplog.at_level(logging.INFO):
            answer = post(client, body, headers)
        assert answer.status_code == 400 and answer.mimetype == PROBLEM, body
    assert_no_traceback(caplog)


def test_a_body_over_the_api_cap_is_a_413_problem(app, client, headers, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "API_MAX_BODY_BYTES", 4096)
    big = b'{"last_name": "' + b"x" * 5000 + b'"}'
    with caplog.at_level(logging.INFO):
        answer = post(client, big, headers)
        # Chunked, without Content-Length (the server marks the stream terminated): capped while read.
        chunked = client.post(
            "/api/v1/contacts",
            input_stream=io.BytesIO(big),
            headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert answer.status_code == 413 and answer.mimetype == PROBLEM
    assert "4096 bytes" in answer.json["detail"]
    assert chunked.status_code == 413 and chunked.mimetype == PROBLEM
    assert_no_traceback(caplog)


def test_nul_characters_deep_in_a_body_are_still_refused(client, tenant_a):
    body = b'{"last_name": "N", "custom_fields": {"a": [[["x\\u0000"]]]}}'
    answer = post(client, body, bearer(make_token(tenant_a)))
    assert answer.status_code == 422 and "NUL" in answer.json["detail"]
