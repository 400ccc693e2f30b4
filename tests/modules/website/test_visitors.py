"""A visitor becomes a person: submitting the workspace's form with the script's visitor id joins the
browser to the contact; their visits before and after appear on the contact's page, later batches are
announced as ``website.visited``, and another workspace never sees them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.website.models import WebsiteVisitor
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.conftest import bearer, login, make_token
from tests.modules.website.conftest import list_site, post_batch

PERSON = {"first_name": "Ada", "email": "ada@example.org"}


def _form_path(client, fixture) -> str:
    body = {"name": "Contact us", "fields": ["first_name", "email"], "purposes": []}
    response = client.post("/api/v1/marketing/forms", json=body, headers=bearer(make_token(fixture)))
    assert response.status_code == 201, response.json
    return response.json["public_url"].removeprefix("http://localhost")


def _subscribe(fixture) -> None:
    with tenant_session(fixture.ref) as session:
        session.add(
            WebhookSubscription(
                url="https://hooks.example.com/w", events=["website.visited"], secret="whsec_" + "x" * 40,
                is_active=True, consecutive_failures=0,
            )
        )  # fmt: skip


def test_a_form_submitted_with_the_visitor_id_puts_the_visits_on_the_contacts_page(client, tenant_a):
    list_site(tenant_a)
    _subscribe(tenant_a)
    visitor = uuid.uuid4()
    assert post_batch(client, tenant_a.slug, ["/", "/pricing"], visitor=visitor).status_code == 202
    path = _form_path(client, tenant_a)
    # The script adds the visitor id to the embedded form's address; the form carries it in a hidden field.
    assert f'name="visitor_id" value="{visitor}"' in client.get(f"{path}?vid={visitor}").text
    assert client.post(path, data={**PERSON, "visitor_id": str(visitor)}).status_code == 200
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.email == "ada@example.org"))
        assert session.get(WebsiteVisitor, visitor).contact_id == contact.id
        # Anonymous batches were not announced: nobody was known then.
        assert session.scalars(select(WebhookDelivery)).all() == []
    assert post_batch(client, tenant_a.slug, ["/docs"], visitor=visitor).status_code == 202
    with tenant_session(tenant_a.ref) as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
        assert delivery.event == "website.visited"
        assert (delivery.payload["contact_id"], delivery.payload["paths"]) == (str(contact.id), ["/docs"])

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact.id}")
    assert page.status_code == 200 and 'data-panel="website"' in page.text
    panel = page.text.split('data-panel="website"', 1)[1].split("</section>", 1)[0]
    assert [p in panel for p in ("/docs", "/pricing", "Page /pricing")] == [True, True, True]
    assert "3 page views" in panel and "2 visits" in panel


def test_a_forged_or_foreign_visitor_id_joins_nothing(client, tenant_a, tenant_b):
    list_site(tenant_a)
    list_site(tenant_b)
    visitor = uuid.uuid4()
    post_batch(client, tenant_a.slug, ["/secret-a"], visitor=visitor)
    # The same browser id submitted on tenant B's form: B gets its own visitor row, A's views stay A's.
    on_b = client.post(_form_path(client, tenant_b), data={**PERSON, "visitor_id": str(visitor)})
    forged = {**PERSON, "email": "x@example.org", "visitor_id": "not-an-id"}
    assert on_b.status_code == 200
    assert client.post(_form_path(client, tenant_a), data=forged).status_code == 200
    with tenant_session(tenant_b.ref) as session:
        contact = session.scalar(select(Contact))
        login(client, tenant_b.email, tenant_b.password)
        page = client.get(f"/t/{tenant_b.slug}/contacts/{contact.id}")
        assert "/secret-a" not in page.text and "No website visits yet." in page.text
    with tenant_session(tenant_a.ref) as session:
        assert session.get(WebsiteVisitor, visitor).contact_id is None


def test_tenant_b_cannot_open_tenant_a_contacts_visits(client, tenant_a, tenant_b):
    list_site(tenant_a)
    visitor = uuid.uuid4()
    post_batch(client, tenant_a.slug, ["/private"], visitor=visitor)
    client.post(_form_path(client, tenant_a), data={**PERSON, "visitor_id": str(visitor)})
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id))
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/contacts/{contact_id}")
    assert page.status_code == 404 and "/private" not in page.text
