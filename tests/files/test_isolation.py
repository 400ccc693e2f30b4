"""Another workspace never reaches A's files: not by id, not by A's signed link, not through its own URLs."""

from __future__ import annotations

from urllib.parse import urlparse

from saas.db import tenant_session
from saas.modules.files.models import StoredFile
from tests.conftest import csrf_token_from, login
from tests.files.conftest import PDF, Api, add_contact, stored_keys


def _a_file(client, tenant_a) -> tuple[Api, str, str, str]:
    api, contact = Api(client, tenant_a), add_contact(tenant_a)
    file_id = api.upload("contacts", contact, PDF).get_json()["id"]
    link = api.get(f"/api/v1/files/{file_id}/link").get_json()["url"]
    return api, contact, file_id, link


def test_tenant_b_cannot_list_read_link_download_or_delete_a_files(client, tenant_a, tenant_b, storage):
    a_api, contact, file_id, link = _a_file(client, tenant_a)
    b_api = Api(client, tenant_b)

    answers = [
        b_api.files("contacts", contact),
        b_api.get(f"/api/v1/files/{file_id}"),
        b_api.get(f"/api/v1/files/{file_id}/link"),
        b_api.get(link),  # A's genuine link, with B's credentials
        b_api.delete(f"/api/v1/files/{file_id}"),
        b_api.upload("contacts", contact, PDF),  # onto A's record
    ]

    for response in answers:
        assert response.status_code == 404, response.get_json()
        assert response.mimetype == "application/problem+json"
        assert file_id not in response.text
    assert a_api.get(link).data == PDF
    assert len(stored_keys(storage, tenant_a.tenant.id)) == 1
    assert stored_keys(storage, tenant_b.tenant.id) == []


def test_a_link_of_tenant_a_never_serves_through_tenant_b_pages(client, tenant_a, tenant_b):
    _, _, file_id, link = _a_file(client, tenant_a)
    token = urlparse(link).path.rsplit("/", 1)[-1]
    assert login(client, tenant_b.email, tenant_b.password).status_code == 302

    through_b = client.get(f"/t/{tenant_b.slug}/files/download/{token}")
    in_a = client.get(f"/t/{tenant_a.slug}/files/download/{token}")  # B is no member of A
    by_id = client.get(f"/t/{tenant_b.slug}/files/{file_id}")
    page = client.get(f"/t/{tenant_b.slug}/contacts")
    deleted = client.post(
        f"/t/{tenant_b.slug}/files/{file_id}/delete", data={"csrf_token": csrf_token_from(page.text)}
    )

    assert [r.status_code for r in (through_b, in_a, by_id, deleted)] == [404, 404, 404, 404]
    assert PDF not in through_b.data
    with tenant_session(tenant_a.ref) as session:
        assert session.get(StoredFile, file_id) is not None


def test_a_signed_link_is_bound_to_its_file(client, tenant_a):
    """A link's signature covers the workspace, the file and the expiry: an edited one is refused."""
    api, _, _, link = _a_file(client, tenant_a)
    token = urlparse(link).path.rsplit("/", 1)[-1]
    payload, signature = token.rsplit(".", 1)
    forged = f"{payload[:-2]}AA.{signature}"

    assert api.get(f"/api/v1/files/download/{forged}").status_code == 404
    assert api.get(f"/api/v1/files/download/{token}").status_code == 200
