"""Opening a request on someone's behalf: staff find the person by name or email and choose them."""

from __future__ import annotations

import re

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.privacy import requests
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.privacy.conftest import add_contact


def _offered(html: str) -> list[str]:
    """The contact ids the page offers to choose from."""
    return re.findall(r'type="radio" id="contact-[^"]+" name="contact_id" value="([^"]+)"', html)


def _open(client, fixture, **fields):
    token = csrf_token_from(client.get(f"/t/{fixture.slug}/privacy/requests").text)
    data = {"kind": "access", "verification_method": "in_person", "details": "", **fields}
    return client.post(f"/t/{fixture.slug}/privacy/requests", data={**data, "csrf_token": token})


def test_staff_find_a_contact_by_name_choose_them_and_open_the_request(client, tenant_a):
    mara = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    other = add_contact(tenant_a, first_name="Marc", last_name="Quinn", email="marc@quinn.example")
    add_contact(tenant_a, first_name="Zoe", last_name="Stone", email="zoe@stone.example")
    login(client, tenant_a.email, tenant_a.password)

    found = client.get(f"/t/{tenant_a.slug}/privacy/requests", query_string={"contact_q": "quinn"})
    assert found.status_code == 200
    assert sorted(_offered(found.text)) == sorted([mara, other])
    assert "mara@quinn.example" in found.text and "zoe@stone.example" not in found.text
    assert 'name="contact_id" required' not in found.text  # no raw id to type any more

    opened = _open(client, tenant_a, contact_id=mara, contact_q="quinn", kind="erasure")
    assert opened.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        [item] = requests.list_requests(session)
        assert (str(item.contact_id), item.kind, item.channel) == (mara, "erasure", "staff")


def test_staff_find_a_contact_by_email_and_a_single_match_is_chosen_already(client, tenant_a):
    zoe = add_contact(tenant_a, first_name="Zoe", last_name="Stone", email="zoe@stone.example")
    add_contact(tenant_a, first_name="Ann", last_name="Other", email="ann@other.example")
    login(client, tenant_a.email, tenant_a.password)
    found = client.get(
        f"/t/{tenant_a.slug}/privacy/requests", query_string={"contact_q": "zoe@stone.example"}
    )
    assert _offered(found.text) == [zoe]
    assert re.search(rf'value="{zoe}" required checked', found.text)


def test_the_search_as_you_type_answer_is_the_same_choices_alone(client, tenant_a):
    mara = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    login(client, tenant_a.email, tenant_a.password)
    choices = client.get(f"/t/{tenant_a.slug}/privacy/requests/contact-choices", query_string={"q": "mar"})
    assert choices.status_code == 200 and choices.mimetype == "text/html"
    assert _offered(choices.text) == [mara] and "<html" not in choices.text
    short = client.get(f"/t/{tenant_a.slug}/privacy/requests/contact-choices", query_string={"q": "m"})
    assert _offered(short.text) == [] and "at least 2 characters" in short.text
    none = client.get(f"/t/{tenant_a.slug}/privacy/requests/contact-choices", query_string={"q": "nobody"})
    assert _offered(none.text) == [] and "No contact matches" in none.text
    page = client.get(f"/t/{tenant_a.slug}/privacy/requests").text
    assert 'src="/static/record-picker.js' in page and "data-choices-url=" in page
    assert client.get("/static/record-picker.js").status_code == 200


def test_submitting_without_choosing_a_person_re_renders_the_form_with_a_message(client, tenant_a):
    mara = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    login(client, tenant_a.email, tenant_a.password)
    refused = _open(client, tenant_a, contact_q="quinn", details="Wants a copy of everything.")
    assert refused.status_code == 422
    assert "choose them in the list" in refused.text
    assert _offered(refused.text) == [mara] and "Wants a copy of everything." in refused.text
    bad_kind = _open(client, tenant_a, contact_id=mara, contact_q="quinn", kind="gossip")
    assert bad_kind.status_code == 422 and "Invalid request type." in bad_kind.text
    assert re.search(rf'value="{mara}" required checked', bad_kind.text)
    with tenant_session(tenant_a.ref) as session:
        assert requests.list_requests(session) == []


def test_another_tenants_contacts_never_appear_and_cannot_be_chosen(client, tenant_a, tenant_b):
    mine = add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    theirs = add_contact(tenant_b, first_name="Mara", last_name="Quinn", email="mara@b-quinn.example")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/requests", query_string={"contact_q": "mara quinn"})
    choices = client.get(f"/t/{tenant_a.slug}/privacy/requests/contact-choices", query_string={"q": "quinn"})
    for html in (page.text, choices.text):
        assert _offered(html) == [mine] and theirs not in html and "b-quinn" not in html
    # B's contact id posted by hand: refused like an unknown person, not offered back, nothing opened.
    refused = _open(client, tenant_a, contact_id=theirs, contact_q="")
    assert refused.status_code == 422 and theirs not in _offered(refused.text)
    with tenant_session(tenant_a.ref) as session:
        assert requests.list_requests(session) == []
    # The slug chooses only among the user's own workspaces.
    assert client.get(f"/t/{tenant_b.slug}/privacy/requests/contact-choices?q=quinn").status_code == 404


def test_members_cannot_search_contacts_through_the_privacy_picker(client, tenant_a):
    add_contact(tenant_a, first_name="Mara", last_name="Quinn", email="mara@quinn.example")
    email = f"member-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, email, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/privacy/requests/contact-choices?q=quinn").status_code == 403
