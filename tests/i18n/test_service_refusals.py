"""A service's refusal reads in the reader's language on the page that shows it, while the API's
problem+json keeps it English: the texts are marked with ``N_`` where they are raised, and pages look
them up through ``translate``. Shown in the pseudo-locale, where every translated text is ⟦wrapped⟧."""

from __future__ import annotations

from saas.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, TOO_LONG, TOO_SHORT
from saas.webhooks.services import EVENTS_EXPECTED, MAX_EVENTS
from tests.auth.conftest import configure_sso, idp  # noqa: F401
from tests.conftest import csrf_token_from, login
from tests.i18n.refusals import api_in_english
from tests.i18n.test_pseudo_locale import HEADERS, pseudo_locale  # noqa: F401


def test_members_page_refuses_inviting_a_member_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    path = f"/t/{tenant_a.slug}/settings/members"
    token = csrf_token_from(client.get(path, headers=HEADERS).text)
    form = {"csrf_token": token, "email": tenant_a.email, "role": "member"}

    refused = client.post(f"{path}/invite", data=form, headers=HEADERS)
    assert refused.status_code == 422
    assert "⟦Already a member.⟧" in refused.text
    assert "⟦This person is already a member.⟧" in refused.text

    english = client.post(f"{path}/invite", data=form)
    assert english.status_code == 422 and "This person is already a member." in english.text
    assert "⟦" not in english.text


def test_sso_settings_refuse_a_plain_http_issuer_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    path = f"/t/{tenant_a.slug}/settings/sso"
    form = {
        "csrf_token": csrf_token_from(client.get(path, headers=HEADERS).text),
        # A public address written as one, so that no name lookup is needed to reach the https rule.
        "issuer": "http://8.8.8.8",
        "client_id": "crm-page",
        "client_secret": "page-secret-value",
        "default_role": "member",
        "enabled": "y",
    }
    refused = client.post(path, data=form, headers=HEADERS)
    assert refused.status_code == 422
    assert "⟦An https:// URL of your identity provider, e.g. https://login.example.com⟧" in refused.text


def test_a_refused_single_sign_on_is_explained_in_the_readers_language(
    client,
    tenant_a,
    idp,  # noqa: F811
    pseudo_locale,  # noqa: F811
):
    configure_sso(idp, tenant_a)
    # An answer from the provider that no sign-in of this browser started.
    refused = client.get(f"/t/{tenant_a.slug}/login/callback?state=forged&code=x", headers=HEADERS)
    assert refused.status_code == 403
    assert "⟦This sign-in link is not valid any more. Please start again.⟧" in refused.text


def test_api_client_without_a_scope_is_refused_translated_on_the_page_and_english_in_the_api(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    path = f"/t/{tenant_a.slug}/settings/api"
    token = csrf_token_from(client.get(path, headers=HEADERS).text)

    page = client.post(
        f"{path}/clients",
        data={"csrf_token": token, "name": "No scopes"},
        headers=HEADERS,
        follow_redirects=True,
    )
    assert page.status_code == 200 and "⟦Choose at least one scope.⟧" in page.text

    # The API speaks English whatever the caller's language: its problem+json is the contract.
    no_scope = {"name": "No scopes", "scopes": [" "]}
    api = api_in_english(client, tenant_a, "POST", "/api/v1/api-clients", json=no_scope)
    assert api.status_code == 422 and api.json["detail"].startswith("Choose at least one scope.")


def test_limits_written_out_for_the_catalogs_match_the_limits_enforced():
    written_out = (TOO_SHORT, TOO_LONG, EVENTS_EXPECTED)
    enforced = (
        f"Use at least {MIN_PASSWORD_LENGTH} characters.",
        f"Use at most {MAX_PASSWORD_LENGTH} characters.",
        f'1-{MAX_EVENTS} event names, or ["*"].',
    )
    assert written_out == enforced
