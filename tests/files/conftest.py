"""Files fixtures: moto's S3 server (the exports tests' one) switched on for every files test, a record
to attach to, and uploads through the API as an integrator sends them."""

from __future__ import annotations

import dataclasses
import io

import pytest

from saas.db import tenant_session
from saas.modules.core import services
from tests.conftest import TenantFixture, bearer, make_token
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def storage(s3):  # noqa: F811 - the fixture imported above
    return s3


@pytest.fixture
def settings(app):
    """Change the files settings for one test: ``settings(files_max_bytes=...)``."""
    original = app.config["SAAS_SETTINGS"]

    def change(**values):
        app.config["SAAS_SETTINGS"] = dataclasses.replace(app.config["SAAS_SETTINGS"], **values)

    yield change
    app.config["SAAS_SETTINGS"] = original


def add_contact(fixture: TenantFixture, email: str = "cy@example.com") -> str:
    with tenant_session(fixture.ref) as session:
        return str(services.contacts.create(session, {"first_name": "Cy", "email": email}).id)


class Api:
    """A tenant's API as an integrator calls it."""

    def __init__(self, client, fixture: TenantFixture) -> None:
        self.client, self.headers = client, bearer(make_token(fixture))

    def upload(self, record_type: str, record_id: str, content: bytes, name: str = "report.pdf"):
        data = {"record_type": record_type, "record_id": record_id, "file": (io.BytesIO(content), name)}
        return self.client.post(
            "/api/v1/files", data=data, headers=self.headers, content_type="multipart/form-data"
        )

    def files(self, record_type: str, record_id: str):
        return self.client.get(
            "/api/v1/files",
            query_string={"record_type": record_type, "record_id": record_id},
            headers=self.headers,
        )

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)

    def delete(self, url: str):
        return self.client.delete(url, headers=self.headers)


def stored_keys(s3, tenant_id: str) -> list[str]:  # noqa: F811
    found = s3.list_objects_v2(Bucket="exports-test", Prefix=f"files/{tenant_id}/")
    return [item["Key"] for item in found.get("Contents", [])]
