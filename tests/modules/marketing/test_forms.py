"""Public lead-capture forms: honeypot, validation, lead + pending consent, double opt-in, suppression,
rate limit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.marketing.models import FormSubmission
from saas.modules.privacy.consent import consent_state, may_contact
from saas.modules.privacy.subject import suppress_email
from saas.modules.sfa.models import Lead
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import run_jobs


def _form(client, fixture, **data) -> dict:
    token = make_token(fixture)
    body = {"name": "Newsletter", "fields": ["last_name", "company"], "purposes": ["email_marketing"], **data}
    response = client.post("/api/v1/marketing/forms", json=body, headers=bearer(token))
    assert response.status_code == 201, response.json
    return response.json


def _path(form: dict) -> str:
    return form["public_url"].removeprefix("http://localhost")


def _counts(fixture) -> tuple[int, int, int]:
    with tenant_session(fixture.ref) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Contact, Lead, FormSubmission)
        )


PERSON = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org", "company": "Engines"}


def test_form_shows_the_purposes_current_notice_and_a_hidden_honeypot(client, tenant_a):
    form = _form(client, tenant_a)
    page = client.get(_path(form))
    assert page.status_code == 200
    assert "We may send you news and offers by email." in page.text
    assert 'name="website"' in page.text and 'name="consent_email_marketing"' in page.text


def test_a_filled_honeypot_creates_nothing(client, tenant_a, mail_sink):
    form = _form(client, tenant_a)
    response = client.post(
        _path(form), data={**PERSON, "consent_email_marketing": "1", "website": "spam.example"}
    )
    assert response.status_code == 200 and "Thank you!" in response.text  # the bot learns nothing
    run_jobs()
    assert _counts(tenant_a) == (0, 0, 0) and mail_sink.messages == []


def test_a_valid_submission_creates_a_lead_and_pending_consent_that_the_mailed_link_grants(
    client, tenant_a, mail_sink
):
    form = _form(client, tenant_a)
    response = client.post(_path(form), data={**PERSON, "consent_email_marketing": "1"})
    assert response.status_code == 200 and "Thank you!" in response.text
    assert _counts(tenant_a) == (1, 1, 1)
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact))
        lead = session.scalar(select(Lead))
        event = consent_state(session, contact.id)["email_marketing"]
        assert (contact.email, contact.last_name) == ("ada@example.org", "Lovelace")
        assert (lead.company, lead.source) == ("Engines", "Form: Newsletter")
        assert (event.status, event.source, event.notice.version) == ("pending", "form", 1)
        assert not may_contact(session, contact.id, "email_marketing")

    run_jobs()
    [mail] = mail_sink.to("ada@example.org")
    confirm = re.search(r"http://localhost(/hub/\S+/confirm/\S+)", mail.get_content()).group(1)
    page = client.get(confirm)
    client.post(confirm, data={"csrf_token": csrf_token_from(page.text)})
    with tenant_session(tenant_a.ref) as session:
        assert may_contact(session, contact.id, "email_marketing")


def test_a_known_person_is_filled_in_never_overwritten(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        session.add(Contact(first_name="Augusta", last_name="King", email="ADA@example.org"))
    form = _form(client, tenant_a, fields=["last_name", "phone"])
    client.post(
        _path(form),
        data={
            "first_name": "Mallory",
            "last_name": "X",
            "email": "ada@example.org",
            "phone": "+44 20 7946 0018",
        },
    )
    with tenant_session(tenant_a.ref) as session:
        [contact] = session.scalars(select(Contact)).all()
    assert (contact.first_name, contact.last_name, contact.phone) == ("Augusta", "King", "+442079460018")


def test_bad_input_gets_the_form_back_with_messages_and_writes_nothing(client, tenant_a):
    form = _form(client, tenant_a)
    response = client.post(_path(form), data={"first_name": "", "email": "not-an-email"})
    assert response.status_code == 422
    assert "Enter your first name." in response.text and "Enter a valid email address." in response.text
    assert _counts(tenant_a) == (0, 0, 0)


def test_an_erased_persons_email_is_refused_silently(client, tenant_a, mail_sink):
    with tenant_session(tenant_a.ref) as session:
        suppress_email(session, "ada@example.org", None)
    form = _form(client, tenant_a)
    response = client.post(_path(form), data={**PERSON, "consent_email_marketing": "1"})
    assert response.status_code == 200 and "Thank you!" in response.text
    run_jobs()
    assert _counts(tenant_a) == (0, 0, 0) and mail_sink.messages == []


def test_form_posts_are_rate_limited(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "MARKETING_PUBLIC_RATE_LIMIT", "2 per minute")
    form = _form(client, tenant_a)
    codes = [
        client.post(
            _path(form), data={"website": "x"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_without_the_sales_module_a_submission_makes_a_contact_only(client, tenant_a):
    form = _form(client, tenant_a)
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    assert client.post(_path(form), data=PERSON).status_code == 200
    assert _counts(tenant_a) == (1, 0, 1)


def test_a_disabled_form_or_a_foreign_token_is_404(client, tenant_a, tenant_b):
    form = _form(client, tenant_a)
    assert client.get(_path(form).replace(tenant_a.slug, tenant_b.slug)).status_code == 404
    assert client.get(_path(form)[:-2] + "xx").status_code == 404
    client.patch(
        f"/api/v1/marketing/forms/{form['id']}", json={"enabled": False}, headers=bearer(make_token(tenant_a))
    )
    assert client.get(_path(form)).status_code == 404
    assert client.post(_path(form), data=PERSON).status_code == 404


def test_staff_design_a_form_on_its_page_and_get_the_embed_snippet(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/marketing/forms"
    page = client.get(f"{base}/new")
    assert page.status_code == 200 and "Email marketing" in page.text
    token = csrf_token_from(page.text)
    refused = client.post(f"{base}/new", data={"csrf_token": token, "name": ""})
    assert refused.status_code == 422 and "Give a name" in refused.text
    created = client.post(
        f"{base}/new",
        data={"csrf_token": token, "name": "Webinar", "fields": ["last_name", "company"],
              "purposes": ["email_marketing"], "create_lead": "1", "enabled": "1", "thank_you": "See you!"},
    )  # fmt: skip
    assert created.status_code == 302
    detail = client.get(created.headers["Location"])
    public_path = re.search(r'href="http://localhost(/m/[^"]+/f/[^"]+)"', detail.text).group(1)
    assert f'&lt;iframe src="http://localhost{public_path}"' in detail.text
    assert "0 submissions." in detail.text
    assert client.get(public_path).status_code == 200
    client.post(created.headers["Location"], data={"csrf_token": token, "name": "Webinar", "enabled": ""})
    assert client.get(public_path).status_code == 404  # switched off on its page
    listed = client.get(base)
    assert "Webinar" in listed.text and ">no<" in listed.text
