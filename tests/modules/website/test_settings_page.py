"""The website settings page: owners see the snippet and the consent call, list their sites and set the
retention (bad input re-renders with a message, nothing saved); members are refused; each workspace's page
shows and changes its own settings only."""

from __future__ import annotations

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.website import site
from tests.conftest import csrf_token_from, login


def _settings(fixture):
    with tenant_session(fixture.ref) as session:
        settings = site.get_settings(session)
        return list(settings.origins), settings.retention_days


def test_an_owner_gets_the_snippet_and_lists_the_sites(client, tenant_a, tenant_b):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/website/settings")
    assert page.status_code == 200
    assert f"/w/{tenant_a.slug}/track.js" in page.text and "OpenCRM.consent(true)" in page.text
    saved = client.post(
        f"/t/{tenant_a.slug}/website/settings",
        data={
            "origins": "https://www.shop.example/any/page\nhttps://WWW.shop.example\nhttp://localhost:8080",
            "retention_days": "60",
            "csrf_token": csrf_token_from(page.text),
        },
    )
    assert saved.status_code == 302
    assert _settings(tenant_a) == (["https://www.shop.example", "http://localhost:8080"], 60)
    assert _settings(tenant_b) == ([], 90)


def test_bad_settings_re_render_with_a_message_and_save_nothing(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/website/settings")
    for data in ({"origins": "ftp://files.example", "retention_days": "30"},
                 {"origins": "https://ok.example", "retention_days": "1"},
                 {"origins": "https://ok.example", "retention_days": "many"}):  # fmt: skip
        answer = client.post(
            f"/t/{tenant_a.slug}/website/settings", data={**data, "csrf_token": csrf_token_from(page.text)}
        )
        assert answer.status_code == 422 and "Please correct the form." in answer.text
        assert 'aria-invalid="true"' in answer.text
    assert _settings(tenant_a) == ([], 90)


def test_a_member_cannot_open_or_change_the_settings(client, tenant_a):
    add_member(db.session, tenant_a.tenant.id, "rep@alpha.example", tenant_a.password, role="member",
               actor=tenant_a.email)  # fmt: skip
    db.session.commit()
    login(client, "rep@alpha.example", tenant_a.password)
    assert client.get(f"/t/{tenant_a.slug}/website/settings").status_code == 403
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/").text)
    answer = client.post(
        f"/t/{tenant_a.slug}/website/settings",
        data={"origins": "https://evil.example", "retention_days": "30", "csrf_token": token},
    )
    assert answer.status_code == 403 and _settings(tenant_a) == ([], 90)


def test_tenant_b_cannot_reach_tenant_a_settings_through_its_slug(client, tenant_a, tenant_b):
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_a.slug}/website/settings").status_code in (403, 404)
