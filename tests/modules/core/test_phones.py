"""Phone numbers: stored in E.164 whichever path writes them (API, pages, imports, public forms), read in
the workspace's default region when typed without a country code, shown in the reader's format, compared
by their normalised form to find duplicates; the region is an admin's setting of one workspace."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member, create_api_token
from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from saas.modules.core.phones import display_phone, normalise_phone
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token

NOT_A_NUMBER = "Not a phone number: write it with its country code"


@pytest.fixture
def admin(tenant_a):
    return bearer(make_token(tenant_a))


def _region(client, headers, region: str) -> None:
    response = client.put("/api/v1/phone-settings", json={"region": region}, headers=headers)
    assert response.status_code == 200, response.get_json()


def _contact(client, headers, status: int = 201, **body) -> dict:
    response = client.post("/api/v1/contacts", json={"last_name": "Lee", **body}, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("030 1234567", "DE", "+49301234567"),
        ("+49 (30) 123-4567", "DE", "+49301234567"),
        ("0049 30 1234567", "DE", "+49301234567"),
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("+7 495 123 45 67", "RU", "+74951234567"),
        ("010 1234 5678", "CN", "+861012345678"),
        ("021 1234 5678", "IR", "+982112345678"),
        ("0912 345 6789", "IR", "+989123456789"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("+49 30 1234567", None, "+49301234567"),  # a country code needs no region
        ("+49 30 1234567", "US", "+49301234567"),  # and wins over it
        ("030 1234567 ext. 12", "DE", "+49301234567;ext=12"),  # extensions kept, RFC 3966 style
    ],
)
def test_numbers_are_stored_in_e164_read_in_the_workspace_region(typed, region, stored):
    assert normalise_phone(typed, region) == stored
    assert normalise_phone(stored, None) == stored  # normalising twice changes nothing


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("030 1234567", None),  # no country code and no region to read it in
        ("555 0100", "US"),  # dialable only inside its area: no E.164 form
        ("+44 1", None),
        ("call the front desk", "DE"),
        ("+49 30 1234567890123456789", None),
    ],
)
def test_what_is_not_a_whole_number_is_refused_naming_the_field(typed, region):
    with pytest.raises(ValidationError) as refused:
        normalise_phone(typed, region)
    assert refused.value.errors["phone"][0].startswith(NOT_A_NUMBER)


def test_blank_is_no_number():
    assert normalise_phone("  ", "DE") is None and normalise_phone(None, "DE") is None


def test_a_reader_sees_numbers_of_their_region_nationally_and_others_internationally():
    assert display_phone("+49301234567", "DE") == "030 1234567"
    assert display_phone("+49301234567", "US") == "+49 30 1234567"
    assert display_phone("+49301234567", None) == "+49 30 1234567"
    assert display_phone("+74951234567", "RU") == "8 (495) 123-45-67"
    assert display_phone("+12125550100", "US") == "(212) 555-0100"
    assert display_phone("+49301234567;ext=12", "DE") == "030 1234567 ext. 12"
    # A value stored before numbers were normalised, which is no number, is shown as it was stored.
    assert display_phone("ask the front desk", "DE") == "ask the front desk"
    assert display_phone(None, "DE") == ""


def test_the_api_stores_and_returns_e164_and_refuses_a_bad_number_as_a_problem(client, admin, tenant_a):
    refused = _contact(client, admin, 422, phone="030 1234567")  # no region set yet
    assert refused["errors"]["phone"][0].startswith(NOT_A_NUMBER)
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": None}
    _region(client, admin, "de")
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": "DE"}

    contact = _contact(client, admin, phone="030 1234567")
    assert contact["phone"] == "+49301234567"
    edited = client.patch(
        f"/api/v1/contacts/{contact['id']}", json={"phone": "0049 40 7654321"}, headers=admin
    )
    assert edited.get_json()["phone"] == "+49407654321"
    account = client.post("/api/v1/accounts", json={"name": "Acme", "phone": "089 123456"}, headers=admin)
    assert account.get_json()["phone"] == "+4989123456"
    lead = client.post("/api/v1/leads", json={"last_name": "Kim", "phone": "+7 495 1234567"}, headers=admin)
    assert lead.get_json()["phone"] == "+74951234567"

    response = client.patch(f"/api/v1/contacts/{contact['id']}", json={"phone": "12"}, headers=admin)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert "+49 30 123456" in response.get_json()["errors"]["phone"][0]  # an example of the region's
    assert (
        client.get(f"/api/v1/contacts/{contact['id']}", headers=admin).get_json()["phone"] == "+49407654321"
    )


def test_a_bad_region_is_a_problem_and_changes_are_audited(client, admin, tenant_a):
    for region in ("XX", "Germany", "", None):
        response = client.put("/api/v1/phone-settings", json={"region": region}, headers=admin)
        assert response.status_code == 422, (region, response.get_json())
        assert response.content_type == "application/problem+json"
    _region(client, admin, "CN")
    _region(client, admin, "IR")
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": "IR"}
    details = db.session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action == "core.phone_region.changed"
        )
    ).all()
    assert sorted((d["from"] or "", d["to"]) for d in details) == [("", "CN"), ("CN", "IR")]


def test_members_read_the_region_but_only_owners_and_admins_change_it(client, admin, tenant_a):
    _region(client, admin, "DE")
    email = f"rep-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="tests")
    _, secret = create_api_token(db.session, tenant_a.slug, email, "rep")
    db.session.commit()
    member = bearer(secret)
    assert client.get("/api/v1/phone-settings", headers=member).get_json() == {"region": "DE"}
    assert client.put("/api/v1/phone-settings", json={"region": "US"}, headers=member).status_code == 403
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": "DE"}
    login(client, email, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/phones").status_code == 403


def test_tenant_b_cannot_read_or_change_tenant_a_region(client, admin, tenant_a, tenant_b):
    _region(client, admin, "RU")
    other = bearer(make_token(tenant_b))
    assert client.get("/api/v1/phone-settings", headers=other).get_json() == {"region": None}
    _region(client, other, "US")  # changes tenant B's own setting only
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": "RU"}
    assert client.get("/api/v1/phone-settings", headers=other).get_json() == {"region": "US"}
    # Nor through the pages: tenant B's owner reaches no settings page of tenant A.
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_a.slug}/settings/phones").status_code == 404
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/settings/phones").text)
    posted = client.post(f"/t/{tenant_a.slug}/settings/phones", data={"region": "CN", "csrf_token": token})
    assert posted.status_code == 404
    assert client.get("/api/v1/phone-settings", headers=admin).get_json() == {"region": "RU"}


def test_the_same_number_in_any_format_is_a_likely_duplicate(client, admin):
    _region(client, admin, "DE")
    typed = ("+49 30 1234567", "030 1234567", "+49301234567")
    ids = [_contact(client, admin, last_name=f"Person{n}", phone=p)["id"] for n, p in enumerate(typed)]
    other = _contact(client, admin, last_name="Other", phone="+49 30 7654321")["id"]
    for record_id in ids:
        body = client.get(f"/api/v1/contacts/{record_id}", headers=admin).get_json()
        found = {d["id"]: d["reasons"] for d in body["possible_duplicates"]}
        assert found == {i: ["same phone"] for i in ids if i != record_id}
    assert client.get(f"/api/v1/contacts/{other}", headers=admin).get_json()["possible_duplicates"] == []


def test_pages_refuse_a_bad_number_with_a_message_and_show_numbers_in_the_readers_format(
    client, admin, tenant_a
):
    login(client, tenant_a.email, tenant_a.password)
    settings = client.get(f"/t/{tenant_a.slug}/settings/phones")
    assert settings.status_code == 200
    token = csrf_token_from(settings.text)
    refused = client.post(f"/t/{tenant_a.slug}/settings/phones", data={"region": "ZZ", "csrf_token": token})
    assert refused.status_code == 422 and "ISO 3166" in refused.text and 'value="ZZ"' in refused.text
    saved = client.post(f"/t/{tenant_a.slug}/settings/phones", data={"region": "de", "csrf_token": token})
    assert saved.status_code == 302
    assert "numbers of DE" in client.get(f"/t/{tenant_a.slug}/settings/phones").text
    assert "Phone numbers" in client.get(f"/t/{tenant_a.slug}/settings").text  # linked from the hub

    form = {"first_name": "Anna", "last_name": "Schmidt", "phone": "not a number", "csrf_token": token}
    bad = client.post(f"/t/{tenant_a.slug}/contacts/new", data=form)
    assert bad.status_code == 422 and NOT_A_NUMBER in bad.text and 'value="not a number"' in bad.text
    created = client.post(f"/t/{tenant_a.slug}/contacts/new", data=form | {"phone": "030 1234567"})
    assert created.status_code == 302
    detail = client.get(created.headers["Location"]).text
    assert "030 1234567" in detail
    foreign = _contact(client, admin, last_name="Ivanov", phone="+7 495 123 45 67")
    assert "+7 495 123-45-67" in client.get(f"/t/{tenant_a.slug}/contacts/{foreign['id']}").text
    listed = client.get(f"/t/{tenant_a.slug}/contacts?columns=name,phone").text
    assert "030 1234567" in listed and "+7 495 123-45-67" in listed
    with tenant_session(tenant_a.ref) as session:
        stored = session.scalars(select(Contact.phone).order_by(Contact.phone)).all()
    assert stored == ["+49301234567", "+74951234567"]


def test_a_value_stored_before_normalisation_stays_until_the_number_is_edited(client, admin, tenant_a):
    _region(client, admin, "DE")
    with tenant_session(tenant_a.ref) as session:
        legacy = Contact(last_name="Legacy", phone="ask the front desk")
        session.add(legacy)
        session.flush()
        record_id = legacy.id
    login(client, tenant_a.email, tenant_a.password)
    edit = client.get(f"/t/{tenant_a.slug}/contacts/{record_id}/edit")
    form = {
        "last_name": "Legacy-Renamed",
        "phone": "ask the front desk",
        "csrf_token": csrf_token_from(edit.text),
    }
    assert client.post(f"/t/{tenant_a.slug}/contacts/{record_id}/edit", data=form).status_code == 302
    assert "ask the front desk" in client.get(f"/t/{tenant_a.slug}/contacts/{record_id}").text
    body = client.get(f"/api/v1/contacts/{record_id}", headers=admin).get_json()
    assert (body["last_name"], body["phone"]) == ("Legacy-Renamed", "ask the front desk")
    edited = client.patch(f"/api/v1/contacts/{record_id}", json={"phone": "030 1234567"}, headers=admin)
    assert edited.get_json()["phone"] == "+49301234567"


def test_an_import_reports_a_bad_number_on_its_row_and_imports_the_rest(client, admin, tenant_a):
    _region(client, admin, "DE")
    rows = [
        ["Ann", "Lee", "ann@example.org", "030 1234567"],
        ["Bob", "Roe", "bob@example.org", "not a number"],
        ["Cem", "Kaya", "cem@example.org", "+90 212 123 45 67"],
        ["Dan", "Ode", "dan@example.org", ""],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["First name", "Last name", "Email", "Phone"], *rows])
    started = client.post(
        "/api/v1/imports",
        data={"entity": "contacts", "file": (io.BytesIO(buffer.getvalue().encode()), "people.csv")},
        headers=admin,
        content_type="multipart/form-data",
    )
    assert started.status_code == 202, started.get_json()
    make_worker().work(burst=True)
    job = client.get(f"/api/v1/imports/{started.get_json()['id']}", headers=admin).get_json()
    assert (job["status"], job["imported_rows"], job["error_rows"]) == ("done", 3, 1)
    report = list(
        csv.reader(io.StringIO(client.get(f"/api/v1/imports/{job['id']}/errors", headers=admin).text))
    )
    [(row, column, reason, *values)] = report[1:]
    assert (row, column, values) == ("3", "Phone", rows[1]) and reason.startswith(NOT_A_NUMBER)
    with tenant_session(tenant_a.ref) as session:
        stored = dict(session.execute(select(Contact.email, Contact.phone)).tuples().all())
    assert stored == {
        "ann@example.org": "+49301234567",
        "cem@example.org": "+902121234567",
        "dan@example.org": None,
    }


def test_a_public_form_stores_e164_and_tells_the_visitor_a_bad_number(client, admin, tenant_a):
    _region(client, admin, "DE")
    form = client.post(
        "/api/v1/marketing/forms",
        json={"name": "Callback", "fields": ["last_name", "phone"], "purposes": []},
        headers=admin,
    ).get_json()
    path = form["public_url"].removeprefix("http://localhost")
    person = {"first_name": "Lena", "last_name": "Weber", "email": "weber@example.org"}
    bad = client.post(path, data=person | {"phone": "0"})
    assert bad.status_code == 422 and "with its country code" in bad.text
    assert client.post(path, data=person | {"phone": "030 1234567"}).status_code in (200, 302)
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(Contact.phone)).all() == ["+49301234567"]
