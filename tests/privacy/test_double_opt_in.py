"""Double opt-in: a form or import grant of email marketing stays pending until the person confirms."""

from __future__ import annotations

import re
import uuid

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.privacy import consent
from tests.conftest import bearer, csrf_token_from, make_token
from tests.privacy.conftest import add_contact


def _confirmation_token(sink, email: str) -> str:
    make_worker().work(burst=True)
    [message] = sink.to(email)
    return re.search(r"/confirm/(\S+)", message.get_content()).group(1)


def _confirm(client, slug: str, token: str):
    page = client.get(f"/hub/{slug}/confirm/{token}")
    if page.status_code != 200:
        return page
    return client.post(f"/hub/{slug}/confirm/{token}", data={"csrf_token": csrf_token_from(page.text)})


def test_form_grant_is_pending_until_the_mailed_link_is_confirmed_once(client, tenant_a, tenant_b, mail_sink):
    contact_id = add_contact(tenant_a, last_name="Double", email="double@example.com")
    granted = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "granted", "source": "form"},
        headers=bearer(make_token(tenant_a)),
    )
    assert granted.status_code == 201 and granted.json["status"] == "pending"
    with tenant_session(tenant_a.ref) as session:
        assert consent.may_contact(session, uuid.UUID(contact_id), "email_marketing") is False

    token = _confirmation_token(mail_sink, "double@example.com")
    assert _confirm(client, tenant_b.slug, token).status_code == 400  # another tenant's center refuses it
    assert _confirm(client, tenant_a.slug, token[:-2] + "xx").status_code == 400  # tampered
    assert _confirm(client, tenant_a.slug, token).status_code == 200
    assert _confirm(client, tenant_a.slug, token).status_code == 400  # nothing left to confirm

    with tenant_session(tenant_a.ref) as session:
        history = consent.consent_history(session, uuid.UUID(contact_id))
        assert [(e.status, e.source) for e in history] == [("pending", "form"), ("granted", "form")]
        assert history[0].actor.startswith("user:") and history[1].actor == "data_subject"
        assert history[1].notice_id == history[0].notice_id  # confirms the very text shown
        assert consent.may_contact(session, uuid.UUID(contact_id), "email_marketing") is True


def test_sms_and_direct_api_grants_need_no_confirmation(client, tenant_a, mail_sink):
    contact_id = add_contact(tenant_a, last_name="Single", email="single@example.com")
    headers = bearer(make_token(tenant_a))
    sms = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "sms_marketing", "status": "granted", "source": "form"},
        headers=headers,
    )
    api = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "granted"},
        headers=headers,
    )
    assert sms.json["status"] == "granted" and api.json["status"] == "granted"
    make_worker().work(burst=True)
    assert mail_sink.to("single@example.com") == []
