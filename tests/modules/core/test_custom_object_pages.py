"""Custom objects on pages: an admin defines one with a relation, members create, list, filter, open and
log on its records like contacts; the related account's page shows the other side of the relation; bad
input gets a form message and writes nothing; another workspace's member never reaches the pages."""

from __future__ import annotations

import re

from tests.conftest import csrf_token_from, login


def _token(client, url):
    return csrf_token_from(client.get(url).text)


def _define_vehicle(client, base: str, token: str) -> None:
    defined = client.post(
        f"{base}/settings/objects",
        data={"csrf_token": token, "key": "vehicle", "singular": "Vehicle", "plural": "Vehicles",
              "name_label": "Plate number", "icon": "car"},
    )  # fmt: skip
    assert defined.status_code == 302, defined.text
    fields = f"{base}/settings/custom-fields"
    for data in (
        {"entity": "co_vehicle", "key": "owner", "label": "Owner", "field_type": "reference",
         "reference": "accounts"},
        {"entity": "co_vehicle", "key": "fuel", "label": "Fuel", "field_type": "single_select",
         "options": "petrol\ndiesel"},
    ):  # fmt: skip
        assert client.post(fields, data={"csrf_token": token, **data}).status_code == 302


def test_an_admin_defines_an_object_and_members_work_with_its_records_like_contacts(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base}/settings/objects")
    bad = client.post(
        f"{base}/settings/objects", data={"csrf_token": token, "key": "Bad Key", "singular": "X"}
    )
    assert bad.status_code == 422 and "key" in bad.text.lower()
    _define_vehicle(client, base, token)
    assert "Vehicles" in client.get(f"{base}/settings/objects").text
    # The navigation lists the object; the settings page of fields offers it.
    assert f'href="{base}/o/vehicle"' in client.get(f"{base}/").text
    client.post(f"{base}/accounts/new", data={"csrf_token": token, "name": "Acme"})
    form = client.get(f"{base}/o/vehicle/new").text
    # The relation is a picker of accounts; without script, its account is typed by name.
    assert "Plate number" in form and f'data-picker-url="{base}/pick/accounts"' in form
    account_id = client.get(f"{base}/pick/accounts?q=acme").get_json()["data"][0]["id"]
    missing = client.post(f"{base}/o/vehicle/new", data={"csrf_token": token, "name": ""})
    assert missing.status_code == 422
    unknown = client.post(
        f"{base}/o/vehicle/new",
        data={"csrf_token": token, "name": "X-1", "cf_owner": "", "cf_owner_q": "Nobody Inc"},
    )
    assert unknown.status_code == 422 and "Nothing matches" in unknown.text
    saved = client.post(
        f"{base}/o/vehicle/new",
        data={
            "csrf_token": token,
            "name": "B-XY 123",
            "cf_owner": "",
            "cf_owner_q": "acme",
            "cf_fuel": "diesel",
        },
    )
    assert saved.status_code == 302
    detail_url = saved.headers["Location"]
    assert re.search(r"/o/vehicle/[0-9a-f-]{36}$", detail_url)
    client.post(f"{base}/o/vehicle/new", data={"csrf_token": token, "name": "M-AB 9", "cf_fuel": "petrol"})
    detail = client.get(detail_url).text
    assert "B-XY 123" in detail and ">Acme</a>" in detail and "diesel" in detail
    assert f"{base}/o/vehicle/" in detail and "/edit" in detail  # links between its pages keep the key
    listed = client.get(f"{base}/o/vehicle?cf_fuel=petrol").text
    assert "M-AB 9" in listed and "B-XY 123" not in listed
    assert "B-XY 123" in client.get(f"{base}/o/vehicle?q=xy").text
    found = client.get(f"{base}/search?q=xy").text  # the global search box finds records of objects too
    assert "Vehicles" in found and "B-XY 123" in found and detail_url.split(base, 1)[1] in found
    # The timeline takes notes like a contact's.
    logged = client.post(
        f"{detail_url}/activities", data={"csrf_token": token, "kind": "note", "subject": "Tyres changed"}
    )
    assert logged.status_code == 302 and "Tyres changed" in client.get(detail_url).text
    # The account's page shows the vehicles pointing at it.
    account_page = client.get(f"{base}/accounts/{account_id}").text
    assert "Related records" in account_page and "B-XY 123" in account_page
    edited = client.post(
        f"{detail_url}/edit", data={"csrf_token": token, "name": "B-XY 124", "cf_fuel": "diesel"}
    )
    assert edited.status_code == 302 and "B-XY 124" in client.get(detail_url).text
    assert client.post(f"{detail_url}/delete", data={"csrf_token": token}).status_code == 302
    assert client.get(detail_url).status_code == 404


def test_another_workspace_never_reaches_an_objects_pages(client, tenant_a, tenant_b):
    login(client, tenant_a.email, tenant_a.password)
    base_a = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base_a}/settings/objects")
    _define_vehicle(client, base_a, token)
    saved = client.post(f"{base_a}/o/vehicle/new", data={"csrf_token": token, "name": "B-XY 123"})
    record_path = saved.headers["Location"].split(base_a, 1)[1]
    client.post("/logout", data={"csrf_token": token})
    login(client, tenant_b.email, tenant_b.password)
    base_b = f"/t/{tenant_b.slug}"
    assert client.get(f"{base_b}/o/vehicle").status_code == 404
    assert client.get(f"{base_b}{record_path}").status_code == 404
    # B's own member cannot reach A's workspace either (the slug only chooses among one's memberships).
    assert client.get(f"{base_a}/o/vehicle").status_code in (403, 404)
    assert client.get(f"{base_a}{record_path}").status_code in (403, 404)
