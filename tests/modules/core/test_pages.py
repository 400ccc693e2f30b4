"""Contact and account pages: a signed-in member works with records through forms."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from tests.conftest import csrf_token_from, login


def _count(fixture) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(Contact))


def test_member_creates_edits_and_deletes_a_contact_through_pages(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/contacts/new")
    assert form.status_code == 200
    created = client.post(
        f"{base}/contacts/new",
        data={"csrf_token": csrf_token_from(form.text), "first_name": "Milton", "last_name": "Waddams",
              "email": "milton@example.com", "account_id": ""},
    )  # fmt: skip
    assert created.status_code == 302
    detail_url = created.headers["Location"]
    detail = client.get(detail_url)
    assert "Milton Waddams" in detail.text and "Contact saved." in detail.text
    contact_id = re.search(r"/contacts/([0-9a-f-]{36})", detail_url).group(1)

    edit = client.get(f"{base}/contacts/{contact_id}/edit")
    assert 'value="milton@example.com"' in edit.text
    updated = client.post(
        f"{base}/contacts/{contact_id}/edit",
        data={"csrf_token": csrf_token_from(edit.text), "first_name": "Milton", "last_name": "Waddams",
              "email": "stapler@example.com", "account_id": ""},
    )  # fmt: skip
    assert updated.status_code == 302
    assert "stapler@example.com" in client.get(f"{base}/contacts?q=stapler").text

    deleted = client.post(
        f"{base}/contacts/{contact_id}/delete", data={"csrf_token": csrf_token_from(edit.text)}
    )
    assert deleted.status_code == 302
    assert client.get(f"{base}/contacts/{contact_id}").status_code == 404


def test_invalid_form_shows_messages_keeps_input_and_writes_nothing(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/contacts/new")
    before = _count(tenant_a)
    response = client.post(
        f"/t/{tenant_a.slug}/contacts/new",
        data={"csrf_token": csrf_token_from(form.text), "first_name": "", "last_name": "", "email": "bad@",
              "title": "Kept title"},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'id="email-error"' in response.text
    assert 'value="Kept title"' in response.text
    assert _count(tenant_a) == before


def test_form_post_without_csrf_token_is_refused(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    before = _count(tenant_a)
    response = client.post(f"/t/{tenant_a.slug}/contacts/new", data={"last_name": "NoToken"})
    assert response.status_code == 400
    assert _count(tenant_a) == before


def test_pages_require_sign_in(client, tenant_a):
    response = client.get(f"/t/{tenant_a.slug}/contacts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_pages_with_next_link(client, tenant_a):
    from saas.modules.core import services

    with tenant_session(tenant_a.ref) as session:
        for i in range(60):
            services.accounts.create(session, {"name": f"Firm {i:03d}"})
    login(client, tenant_a.email, tenant_a.password)
    first = client.get(f"/t/{tenant_a.slug}/accounts")
    assert "Firm 000" in first.text and "Firm 050" not in first.text
    next_url = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = client.get(next_url)
    assert "Firm 050" in second.text and "Firm 000" not in second.text
