"""The customer hub /hub/<slug>/ from the privacy side: the privacy center's old addresses and mailed links
lead to the same hub pages, its sections sit under stable ids, and one workspace's hub session or consent
form reaches nothing of another's."""

from __future__ import annotations

import uuid

import pytest

from saas.db import tenant_session
from saas.modules.privacy import consent
from saas.modules.privacy.links import make_confirmation_token, make_link_token
from saas.modules.privacy.models import ConsentEvent
from tests.conftest import csrf_token_from
from tests.privacy.conftest import add_contact, sign_in_to_center

OLD_CENTER_PATHS = (
    "",
    "home",
    "download",
    "consents",
    "requests",
    "language",
    "sign-out",
    "enter/x",
    "confirm/y",
)


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_old_privacy_center_address_redirects_to_the_same_hub_page(client, tenant_a, method):
    form = {"csrf_token": csrf_token_from(client.get(f"/hub/{tenant_a.slug}/").text)}  # as the old page had
    for path in OLD_CENTER_PATHS:
        options = {"data": form} if method == "post" else {}
        response = getattr(client, method)(f"/p/{tenant_a.slug}/{path}?message=kept", **options)
        assert response.status_code == 308, path  # a POST stays a POST, its form data with it
        assert response.headers["Location"] == f"/hub/{tenant_a.slug}/{path}?message=kept", path


def test_a_sign_in_link_the_center_mailed_opens_the_hub_once_through_its_old_address(client, tenant_a):
    contact_id = add_contact(tenant_a, first_name="Olga", email="olga@example.com")
    with client.application.test_request_context():
        token = make_link_token(tenant_a.tenant.id, uuid.UUID(contact_id))  # as the center signed them
    form = client.get(f"/p/{tenant_a.slug}/enter/{token}", follow_redirects=True)
    assert form.status_code == 200 and form.request.path == f"/hub/{tenant_a.slug}/enter/{token}"
    data = {"csrf_token": csrf_token_from(form.text)}
    entered = client.post(f"/hub/{tenant_a.slug}/enter/{token}", data=data)
    assert entered.headers["Location"] == f"/hub/{tenant_a.slug}/home"
    assert 'id="hub-consents"' in client.get(entered.headers["Location"]).text
    client.post(f"/hub/{tenant_a.slug}/sign-out", data=data)
    again = client.get(f"/p/{tenant_a.slug}/enter/{token}", follow_redirects=True)
    assert again.status_code == 200  # the form: a scanner opening it uses nothing
    used = client.post(f"/hub/{tenant_a.slug}/enter/{token}", data=data)
    assert used.status_code == 400 and "used already or it expired" in used.text


def test_a_confirmation_link_the_center_mailed_still_confirms(client, tenant_a):
    contact_id = add_contact(tenant_a, first_name="Pia", email="pia@example.com")
    with tenant_session(tenant_a.ref) as session:
        context = consent.ConsentContext(source="form", actor="data_subject")
        event = consent.record_consent(session, uuid.UUID(contact_id), "email_marketing", "pending", context)
        event_id = event.id
    with client.application.test_request_context():
        token = make_confirmation_token(tenant_a.tenant.id, event_id)
    page = client.get(f"/p/{tenant_a.slug}/confirm/{token}", follow_redirects=True)
    assert page.request.path == f"/hub/{tenant_a.slug}/confirm/{token}"
    done = client.post(
        f"/hub/{tenant_a.slug}/confirm/{token}", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert done.status_code == 200 and f'href="/hub/{tenant_a.slug}/"' in done.text
    with tenant_session(tenant_a.ref) as session:
        assert consent.consent_state(session, uuid.UUID(contact_id))["email_marketing"].status == "granted"


def test_the_hub_page_shows_the_privacy_sections_under_stable_ids(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Ida", email="ida@example.com")
    sign_in_to_center(client, mail_sink, tenant_a.slug, "ida@example.com")
    home = client.get(f"/hub/{tenant_a.slug}/home").text
    for key in ("data", "consents", "requests", "language"):
        assert f'<section id="hub-{key}"' in home, key
    assert home.index('id="hub-data"') < home.index('id="hub-consents"') < home.index('id="hub-requests"')
    # Before sign-in, none of them: they are the person's own.
    client.post(f"/hub/{tenant_a.slug}/sign-out", data={"csrf_token": csrf_token_from(home)})
    start = client.get(f"/hub/{tenant_a.slug}/").text
    assert 'id="hub-consents"' not in start and 'name="email"' in start


def test_a_hub_session_of_tenant_a_neither_shows_nor_changes_tenant_b_consents(
    client, tenant_a, tenant_b, mail_sink
):
    add_contact(tenant_a, first_name="Sam", email="sam@example.com")
    b_contact = add_contact(tenant_b, first_name="Sam", email="sam@example.com")  # the same person in B
    with tenant_session(tenant_b.ref) as session:
        staff = consent.ConsentContext(source="staff", actor="test")
        consent.record_consent(session, uuid.UUID(b_contact), "email_marketing", "granted", staff)
    sign_in_to_center(client, mail_sink, tenant_a.slug, "sam@example.com")
    home = client.get(f"/hub/{tenant_a.slug}/home").text
    assert "not asked" in home and "agreed" not in home  # A's own state, not B's grant

    form = {"purpose": "email_marketing", "choice": "withdraw", "csrf_token": csrf_token_from(home)}
    refused = client.post(f"/hub/{tenant_b.slug}/consents", data=form)
    assert refused.status_code == 302 and refused.headers["Location"] == f"/hub/{tenant_b.slug}/"
    with tenant_session(tenant_b.ref) as session:
        events = session.query(ConsentEvent).filter_by(contact_id=uuid.UUID(b_contact)).all()
        assert [e.status for e in events] == ["granted"]
