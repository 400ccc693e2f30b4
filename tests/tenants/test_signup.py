"""The public free-trial signup page."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text

from saas.auth.models import Membership
from saas.db import db
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD, csrf_token_from


def _form(client, **fields):
    page = client.get("/signup")
    data = {"csrf_token": csrf_token_from(page.text), "accept_terms": "1", **fields}
    return client.post("/signup", data={k: v for k, v in data.items() if v is not None})


def _tenants() -> int:
    return db.session.scalar(select(func.count()).select_from(Tenant))


def test_company_signs_up_and_lands_signed_in_on_its_dashboard(client, app_ctx):
    email = f"founder-{uuid.uuid4().hex[:6]}@example.com"
    response = _form(client, name="Müller & Söhne GmbH", slug="", admin_email=email, admin_password=PASSWORD)
    assert response.status_code == 302
    tenant = db.session.scalar(select(Tenant).join(Membership).where(Membership.role == "owner").order_by(
        Tenant.created_at.desc()).limit(1))  # fmt: skip
    assert tenant.name == "Müller & Söhne GmbH" and tenant.slug.startswith("muller-sohne")
    assert response.headers["Location"].startswith(f"/t/{tenant.slug}/")
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    schema = db.session.execute(
        text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": tenant.schema_name}
    ).scalar()
    assert schema == 1


def test_derived_address_avoids_taken_ones(client):
    # No app context held across requests here: Flask-WTF caches the CSRF token in `g`, which two
    # clients would then share.
    first = _form(client, name="Same Name Ltd", admin_email=f"a-{uuid.uuid4().hex[:6]}@example.com",
                  admin_password=PASSWORD)  # fmt: skip
    second = _form(client.application.test_client(), name="Same Name Ltd",
                   admin_email=f"b-{uuid.uuid4().hex[:6]}@example.com", admin_password=PASSWORD)  # fmt: skip
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] != second.headers["Location"]


def test_bad_signup_shows_messages_keeps_input_and_creates_nothing(client, app_ctx, tenant_a):
    before = _tenants()
    good = {"name": "Co", "admin_email": "x@example.com", "admin_password": PASSWORD}
    cases = [
        ({**good, "slug": "Bad Slug!"}, "slug"),
        ({**good, "slug": tenant_a.slug}, "slug"),
        ({**good, "slug": "fine-slug-1", "admin_email": "nope"}, "admin_email"),
        ({**good, "slug": "fine-slug-2", "admin_password": "short"}, "admin_password"),
        ({**good, "slug": "fine-slug-3", "name": ""}, "name"),
        ({**good, "slug": "fine-slug-4", "accept_terms": None}, "accept_terms"),
    ]
    for fields, field in cases:
        response = _form(client, **fields)
        assert response.status_code == 422, field
        assert f'id="{field}-error"' in response.text or (
            field == "accept_terms" and "accept the terms" in response.text
        )
        if fields.get("name"):
            assert f'value="{fields["name"]}"' in response.text
    assert _tenants() == before


def test_signup_is_rate_limited(app, client, app_ctx):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [_form(client, name="", admin_email="bad", admin_password="x").status_code for _ in range(3)]
    finally:
        app.config.pop("SIGNUP_RATE_LIMIT")
        from saas.extensions import limiter

        limiter.reset()
    assert codes == [422, 422, 429]
