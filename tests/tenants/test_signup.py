"""The public free-trial signup page."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text

from saas.auth.models import Membership, User
from saas.db import db
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant
from tests.conftest import PASSWORD, csrf_token_from
from tests.tenants.conftest import ask_to_sign_up, choose_password, mailed_signup_path, sign_up


def _tenants() -> int:
    return db.session.scalar(select(func.count()).select_from(Tenant))


def test_company_signs_up_and_lands_signed_in_on_its_dashboard(client, app_ctx, mail_sink):
    email = f"founder-{uuid.uuid4().hex[:6]}@example.com"
    response = sign_up(client, mail_sink, name="Müller & Söhne GmbH", slug="", admin_email=email)
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


def test_derived_address_avoids_taken_ones(client, mail_sink):
    # No app context held across requests here: Flask-WTF caches the CSRF token in `g`, which two
    # clients would then share. Both ask before either confirms: the address is derived on confirming.
    emails = [f"a-{uuid.uuid4().hex[:6]}@example.com", f"b-{uuid.uuid4().hex[:6]}@example.com"]
    browsers = [client, client.application.test_client()]
    for browser, email in zip(browsers, emails, strict=True):
        assert ask_to_sign_up(browser, name="Same Name Ltd", admin_email=email).status_code == 200
    with client.application.app_context():  # the mail job's, left before the next request
        paths = [mailed_signup_path(mail_sink, email) for email in emails]
    first, second = (choose_password(b, path) for b, path in zip(browsers, paths, strict=True))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] != second.headers["Location"]


def test_bad_signup_shows_messages_keeps_input_and_creates_nothing(client, app_ctx, tenant_a):
    before = _tenants()
    good = {"name": "Co", "admin_email": "x@example.com"}
    cases = [
        ({**good, "slug": "Bad Slug!"}, "slug"),
        ({**good, "slug": tenant_a.slug}, "slug"),
        ({**good, "slug": "fine-slug-1", "admin_email": "nope"}, "admin_email"),
        ({**good, "slug": "fine-slug-3", "name": ""}, "name"),
        ({**good, "slug": "fine-slug-4", "accept_terms": None}, "accept_terms"),
    ]
    for fields, field in cases:
        response = ask_to_sign_up(client, **fields)
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
        codes = [ask_to_sign_up(client, name="", admin_email="bad").status_code for _ in range(3)]
    finally:
        app.config.pop("SIGNUP_RATE_LIMIT")
        from saas.extensions import limiter

        limiter.reset()
    assert codes == [422, 422, 429]


def test_a_short_password_on_the_mailed_link_page_shows_a_message_and_creates_nothing(
    client, app_ctx, mail_sink
):
    before = _tenants()
    email = f"short-{uuid.uuid4().hex[:6]}@example.com"
    assert ask_to_sign_up(client, name="Short Co", admin_email=email).status_code == 200
    path = mailed_signup_path(mail_sink, email)
    response = choose_password(client, path, "short")
    assert response.status_code == 422 and 'id="admin_password-error"' in response.text
    assert _tenants() == before
    assert choose_password(client, path, PASSWORD).status_code == 302


def test_the_signup_form_reports_every_field_at_fault_in_one_answer(client, app_ctx, tenant_a):
    response = ask_to_sign_up(client, name="", slug=tenant_a.slug, admin_email="nope", accept_terms=None)
    assert response.status_code == 422
    for field in ("name", "slug", "admin_email"):
        assert f'id="{field}-error"' in response.text, field
    assert "accept the terms" in response.text


def test_the_mailed_link_page_reports_a_taken_address_and_a_short_password_at_once(
    client, app_ctx, mail_sink
):
    slug, email = f"late-{uuid.uuid4().hex[:6]}", f"late-{uuid.uuid4().hex[:6]}@example.com"
    assert ask_to_sign_up(client, name="Late Co", slug=slug, admin_email=email).status_code == 200
    path = mailed_signup_path(mail_sink, email)
    provision_tenant(slug, "Quicker Co", f"quick-{uuid.uuid4().hex[:6]}@example.com", PASSWORD)
    db.session.commit()

    response = choose_password(client, path, "short")
    assert response.status_code == 422
    assert 'id="admin_password-error"' in response.text and "is already taken" in response.text


def test_a_used_or_tampered_signup_link_creates_nothing_more(client, app_ctx, mail_sink):
    email = f"once-{uuid.uuid4().hex[:6]}@example.com"
    ask_to_sign_up(client, name="Once Co", admin_email=email)
    path = mailed_signup_path(mail_sink, email)
    assert choose_password(client, path).status_code == 302
    before = _tenants()
    assert client.get(path).status_code == 409  # the address has its account now
    token = csrf_token_from(client.get("/signup").text)
    assert client.post(path, data={"csrf_token": token, "admin_password": PASSWORD}).status_code == 409
    assert client.get(path + "x").status_code == 400
    assert _tenants() == before


def test_a_single_cell_install_asks_for_no_region_and_places_the_workspace_in_the_default_cell(
    client, app_ctx, mail_sink
):
    assert 'name="cell"' not in client.get("/signup").text
    email = f"solo-{uuid.uuid4().hex[:6]}@example.com"
    assert sign_up(client, mail_sink, name="Solo Ltd", slug="", admin_email=email).status_code == 302
    tenant = db.session.scalar(select(Tenant).join(Membership).join(User).where(User.email == email))
    assert tenant.cell == "default"
