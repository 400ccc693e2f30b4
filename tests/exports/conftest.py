"""S3 for export tests: moto in server mode on loopback, reached by boto3 over HTTP."""

from __future__ import annotations

import dataclasses
import os
import socket

import boto3
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="exports-test")
    yield endpoint
    server.stop()


@pytest.fixture
def s3(app, s3_server):
    """Point the app's settings at the moto bucket for one test."""
    original = app.config["SAAS_SETTINGS"]
    app.config["SAAS_SETTINGS"] = dataclasses.replace(
        original, s3_bucket="exports-test", s3_endpoint_url=s3_server, export_stale_seconds=600
    )
    yield boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    app.config["SAAS_SETTINGS"] = original
