"""A lead whose person is already a contact says so (API and page): by email, phone, or a similar name at
the same email domain; never a contact of another workspace."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _create(client, headers, path: str, body: dict) -> dict:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_lead_lists_the_contacts_it_is_likely_to_be(client, tenant_a, tenant_b, headers):
    ann = _create(client, headers, "/api/v1/contacts",
                  {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@acme.example.com",
                   "phone": "+33 1 23 45 67 89"})  # fmt: skip
    _create(client, bearer(make_token(tenant_b)), "/api/v1/contacts",
            {"last_name": "Other", "email": "bo@beta.example.com"})  # fmt: skip

    by_email = _create(
        client, headers, "/api/v1/leads", {"last_name": "Lee", "email": "ANN.LEE@acme.example.com"}
    )
    assert by_email["matching_records"] == [
        {"kind": "contact", "id": ann["id"], "name": "Ann Lee", "reasons": ["same email"]}
    ]
    by_phone = _create(client, headers, "/api/v1/leads", {"last_name": "Zed", "phone": "+33 (1) 23-45-67-89"})
    assert [m["reasons"] for m in by_phone["matching_records"]] == [["same phone"]]
    annie = {"first_name": "Annie", "last_name": "LEE", "email": "a.lee@acme.example.com"}
    by_name = _create(client, headers, "/api/v1/leads", annie)
    assert [m["reasons"] for m in by_name["matching_records"]] == [["similar name, same email domain"]]
    stranger = _create(
        client, headers, "/api/v1/leads", {"last_name": "Other", "email": "bo@beta.example.com"}
    )
    assert stranger["matching_records"] == []  # tenant B's contact is not A's
    read = client.get(f"/api/v1/leads/{by_email['id']}", headers=headers).get_json()
    assert [m["id"] for m in read["matching_records"]] == [ann["id"]]

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads/{by_email['id']}").text
    assert "Already in the CRM as" in page and f"/contacts/{ann['id']}" in page
    assert "Already in the CRM as" not in client.get(f"/t/{tenant_a.slug}/leads/{stranger['id']}").text
