"""Files through the API: upload, list, signed download links, delete; limits and refused kinds."""

from __future__ import annotations

import hashlib
import os

from saas.db import tenant_session
from saas.modules.files.services import download_token
from tests.files.conftest import PDF, Api, add_contact, stored_keys


def test_a_file_uploads_lists_downloads_through_its_link_and_deletes(client, tenant_a, storage):
    api, contact = Api(client, tenant_a), add_contact(tenant_a)

    created = api.upload("contacts", contact, PDF, name="../../Offer ünï.pdf")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "Offer ünï.pdf"  # the path is dropped, the name kept
    assert body["content_type"] == "application/pdf"
    assert body["size_bytes"] == len(PDF) and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert [f["id"] for f in api.files("contacts", contact).get_json()["data"]] == [body["id"]]

    link = api.get(f"/api/v1/files/{body['id']}/link").get_json()
    download = api.get(link["url"])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Offer%20%C3%BCn%C3%AF.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert stored_keys(storage, tenant_a.tenant.id) == [
        f"files/{tenant_a.tenant.id}/{body['id'].replace('-', '')}"
    ]

    assert api.delete(f"/api/v1/files/{body['id']}").status_code == 204
    assert api.files("contacts", contact).get_json()["data"] == []
    assert stored_keys(storage, tenant_a.tenant.id) == []
    assert api.get(link["url"]).status_code == 404


def test_bad_input_is_a_problem_document(client, tenant_a):
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    missing = client.post(
        "/api/v1/files",
        data={"record_type": "contacts"},
        headers=api.headers,
        content_type="multipart/form-data",
    )
    unknown_type = api.upload("users", contact, PDF)
    unknown_record = api.upload("contacts", "00000000-0000-0000-0000-000000000000", PDF)
    empty = api.upload("contacts", contact, b"", name="empty.txt")
    for response, status in ((missing, 422), (unknown_type, 404), (unknown_record, 404), (empty, 422)):
        assert response.status_code == status, response.get_json()
        assert response.mimetype == "application/problem+json"
    assert api.files("contacts", contact).get_json()["data"] == []


def test_files_over_the_per_file_limit_are_refused_and_nothing_is_stored(client, tenant_a, settings, storage):
    settings(files_max_bytes=1000)
    api, contact = Api(client, tenant_a), add_contact(tenant_a)

    just_over = api.upload("contacts", contact, b"x" * 1001, name="notes.txt")
    far_over = api.upload("contacts", contact, b"x" * 200_000, name="notes.txt")  # refused unread

    assert just_over.status_code == 413 and just_over.mimetype == "application/problem+json"
    assert "FILES_MAX_BYTES" in just_over.get_json()["detail"]
    assert far_over.status_code == 413 and far_over.mimetype == "application/problem+json"
    assert api.upload("contacts", contact, b"x" * 1000, name="notes.txt").status_code == 201
    assert len(api.files("contacts", contact).get_json()["data"]) == 1
    assert len(stored_keys(storage, tenant_a.tenant.id)) == 1


def test_a_full_workspace_refuses_more_and_keeps_what_it_has(client, tenant_a, tenant_b, settings, storage):
    settings(files_workspace_max_bytes=1500)
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    first = api.upload("contacts", contact, b"a" * 1000, name="a.txt").get_json()

    refused = api.upload("contacts", contact, b"b" * 1000, name="b.txt")

    assert refused.status_code == 413
    assert refused.get_json()["title"] == "Workspace storage full"
    assert [f["id"] for f in api.files("contacts", contact).get_json()["data"]] == [first["id"]]
    assert len(stored_keys(storage, tenant_a.tenant.id)) == 1
    # The limit is per workspace: B's room is its own.
    b_api = Api(client, tenant_b)
    assert b_api.upload("contacts", add_contact(tenant_b), b"c" * 1000, name="c.txt").status_code == 201


def test_programs_and_web_pages_are_refused_whatever_they_are_called(client, tenant_a, storage):
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    refused = {
        "windows program renamed": (b"MZ\x90\x00\x03" + b"\x00" * 300, "invoice.pdf"),
        "linux program": (b"\x7fELF\x02\x01\x01" + b"\x00" * 300, "tool.dat"),
        "script": (b"#!/bin/sh\nrm -rf ~\n", "notes.txt"),
        "html page": (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "page.txt"),
        "svg by name": (b"plain words", "logo.svg"),
    }
    for case, (content, name) in refused.items():
        response = api.upload("contacts", contact, content, name=name)
        assert response.status_code == 415, case
        assert response.mimetype == "application/problem+json", case
    assert api.files("contacts", contact).get_json()["data"] == []
    assert stored_keys(storage, tenant_a.tenant.id) == []
    text = api.upload("contacts", contact, "Grüße\n".encode(), name="hello.txt").get_json()
    assert text["content_type"] == "text/plain"


def test_a_file_larger_than_memory_buffers_streams_up_in_parts(client, tenant_a, storage):
    """Past Werkzeug's 500 KB the upload is spooled to disk, and past 8 MiB it goes to S3 as a
    multipart upload (its ETag counts the parts); it is also past the app's 10 MiB body cap."""
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    content = os.urandom(11 * 1024 * 1024)

    created = api.upload("contacts", contact, content, name="big.bin")

    assert created.status_code == 201, created.get_json()
    key = stored_keys(storage, tenant_a.tenant.id)[0]
    assert storage.head_object(Bucket="exports-test", Key=key)["ETag"].endswith('-2"')
    link = api.get(f"/api/v1/files/{created.get_json()['id']}/link").get_json()
    assert hashlib.sha256(api.get(link["url"]).data).hexdigest() == created.get_json()["sha256"]


def test_an_expired_link_is_refused(client, tenant_a):
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    file_id = api.upload("contacts", contact, PDF).get_json()["id"]
    with tenant_session(tenant_a.ref) as session:
        token, _ = download_token(session, file_id, expires_in=-1)

    response = api.get(f"/api/v1/files/download/{token}")

    assert response.status_code == 410 and response.mimetype == "application/problem+json"


def test_a_file_whose_record_is_gone_is_not_served(client, tenant_a):
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    file_id = api.upload("contacts", contact, PDF).get_json()["id"]
    link = api.get(f"/api/v1/files/{file_id}/link").get_json()
    assert api.delete(f"/api/v1/contacts/{contact}").status_code == 204

    assert api.get(link["url"]).status_code == 404
    assert api.get(f"/api/v1/files/{file_id}").status_code == 404
