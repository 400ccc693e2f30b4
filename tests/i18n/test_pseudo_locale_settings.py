"""The account, members, single sign-on, workspace sign-in, invitation and API settings pages in the
pseudo-locale: no visible text outside the translation layer, flash messages included (each action is
posted and the page it leads to is read). See test_pseudo_locale for the method."""

from __future__ import annotations

import html
import re

import pyotp
from babel import Locale
from flask.testing import FlaskClient

from saas.api.access import api_scopes
from saas.auth.services import add_member
from saas.db import db
from saas.webhooks.events import KNOWN_EVENTS
from tests.api.conftest import running_receiver
from tests.auth.conftest import new_browser
from tests.conftest import csrf_token_from, login, make_token
from tests.i18n.test_pseudo_locale import HEADERS, PSEUDO, page_leaks, pseudo_locale  # noqa: F401

MONTHS = set(Locale.parse(PSEUDO).months["format"]["abbreviated"].values())
"""Times are formatted by Babel in the locale's own month names (its data, not ours)."""
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _after(client: FlaskClient, path: str, form: dict, token: str, statuses=(302,)) -> str:
    """The page a form post leads to (its redirect followed), where its flash message shows."""
    made = client.post(path, data={"csrf_token": token, **form}, headers=HEADERS)
    assert made.status_code in statuses, (path, made.status_code)
    page = made
    while page.status_code == 302:  # a guard may send the page on once more (two-factor required)
        page = client.get(page.headers["Location"], headers=HEADERS)
    assert 'lang="eo"' in page.text, path
    return page.text


def _get(client: FlaskClient, path: str, status: int = 200) -> str:
    page = client.get(path, headers=HEADERS)
    assert page.status_code == status, (path, page.status_code)
    assert 'lang="eo"' in page.text, path
    return page.text


def _no_leaks(shown: dict[str, str], data: set[str]) -> None:
    # The time zones are listed by Babel's names of their places, in the locale (its data, not ours).
    places = {
        html.unescape(place)
        for text in shown.values()
        for menu in re.findall(r'<select id="time_zone".*?</select>', text, re.S)
        for place in re.findall(r"<option[^>]*>([^<]+)</option>", menu)
    }
    leaks = {name: page_leaks(text, data | places) for name, text in shown.items()}
    found = {name: words for name, words in leaks.items() if words}
    assert found == {}, found


def test_account_security_pages_and_their_messages_show_no_text_outside_the_translation_layer(
    app,
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    """Sessions (one signed out, all others signed out), two-factor on and off, recovery codes and the
    password change, each with the message it leaves."""
    login(client, tenant_a.email, tenant_a.password)
    for _ in range(3):
        login(new_browser(app), tenant_a.email, tenant_a.password)
    shown = {}
    shown["security, two-factor off"] = page = _get(client, "/account/security")
    token = csrf_token_from(page)
    other = re.search(r'action="(/account/sessions/[0-9a-f-]{36}/revoke)"', page).group(1)
    shown["one browser signed out"] = _after(client, other, {}, token)
    shown["session ended already"] = _after(client, other, {}, token)
    shown["signed out elsewhere"] = _after(client, "/account/sessions/revoke-others", {}, token)
    shown["password refused"] = _after(
        client, "/account/password",
        {"current_password": tenant_a.password, "password": NEW_PASSWORD, "confirm": "other"}, token, (400,),
    )  # fmt: skip
    shown["password changed"] = _after(
        client, "/account/password",
        {"current_password": tenant_a.password, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token,
    )  # fmt: skip

    shown["two-factor setup"] = page = _get(client, "/account/two-factor/enable")
    secret = re.search(r'data-testid="totp-secret">([^<]+)<', page).group(1)
    shown["two-factor wrong code"] = _after(
        client, "/account/two-factor/enable", {"code": "000000"}, token, (422,)
    )
    shown["recovery codes"] = codes_page = _after(
        client, "/account/two-factor/enable", {"code": pyotp.TOTP(secret.replace(" ", "")).now()}, token,
        (200,),
    )  # fmt: skip
    codes = set(re.findall(r"<li><code>([a-z0-9-]+)</code></li>", codes_page))
    assert codes
    shown["two-factor on already"] = _after(client, "/account/two-factor/enable", {}, token, (302,))
    shown["security, two-factor on"] = _get(client, "/account/security")
    shown["two-factor off"] = _after(client, "/account/two-factor/disable", {"proof": NEW_PASSWORD}, token)

    user_agent = client.get("/account/security").request.headers.get("User-Agent", "")
    data = {tenant_a.email, secret, *codes, *MONTHS, *user_agent.split("/")}
    _no_leaks(shown, data)


def test_members_sso_sign_in_and_invitation_pages_show_no_text_outside_the_translation_layer(
    app,
    client,
    tenant_a,
    mail_sink,
    pseudo_locale,  # noqa: F811
):
    # Addresses of this test's own: people outlive a test's workspace, and other tests use plain ones.
    colleague, invited, joiner = (
        f"{who}-{tenant_a.slug}@example.com" for who in ("colleague", "new", "joiner")
    )
    add_member(db.session, tenant_a.tenant.id, colleague, NEW_PASSWORD, "member", actor="tests")
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    shown = {}
    shown["members"] = page = _get(client, f"{base}/settings/members")
    token = csrf_token_from(page)
    # The colleague's row: the label of their role's select names their address.
    theirs = re.search(rf'for="role-([0-9a-f-]{{36}})">[^<]*{re.escape(colleague)}', page).group(1)
    for action, form in (("role", {"role": "admin"}), ("deactivate", {}), ("reactivate", {})):
        shown[f"member {action}"] = _after(client, f"{base}/settings/members/{theirs}/{action}", form, token)
    shown["invite refused"] = _after(client, f"{base}/settings/members/invite", {"email": ""}, token, (400,))
    shown["invited"] = page = _after(
        client, f"{base}/settings/members/invite", {"email": invited, "role": "member"}, token
    )
    invitation = re.search(r'/settings/invitations/([0-9a-f-]{36})/revoke"', page).group(1)
    shown["invitation withdrawn"] = _after(
        client, f"{base}/settings/invitations/{invitation}/revoke", {}, token
    )
    shown["member removed"] = _after(client, f"{base}/settings/members/{theirs}/remove", {}, token)

    _after(client, f"{base}/settings/members/invite", {"email": joiner, "role": "admin"}, token)
    [mail] = mail_sink.to(joiner)
    invite_path = re.search(r"https?://[^/\s]+(/invite/[^\s⟧]+)", mail.get_content()).group(1)
    stranger = new_browser(app)
    shown["invitation"] = page = _get(stranger, invite_path)
    shown["welcome"] = _after(
        stranger, invite_path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, csrf_token_from(page)
    )
    shown["workspace sign-in"] = page = _get(new_browser(app), f"{base}/login")
    visitor = new_browser(app)
    login_page = _get(visitor, f"{base}/login")
    shown["workspace sign-in refused"] = _after(
        visitor, f"{base}/login", {"email": "nobody@example.com", "password": "wrong"},
        csrf_token_from(login_page), (200,),
    )  # fmt: skip

    shown["single sign-on"] = _get(client, f"{base}/settings/sso")
    shown["two-factor required"] = _after(
        client, f"{base}/settings/security", {"require_two_factor": "y"}, token
    )
    # The owner has no two-factor yet: the workspace's pages send them to set it up, with a message.
    sent = client.get(f"{base}/settings/members", headers=HEADERS)
    assert sent.status_code == 302
    shown["two-factor demanded"] = _get(client, sent.headers["Location"])

    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, colleague, invited, joiner,
        "nobody@example.com", *MONTHS,
    }  # fmt: skip
    # The sign-in and redirect addresses are shown to be copied into the identity provider.
    urls = set(re.findall(r"<code>(http[^<]+)</code>|>(http[^<]+)</a>", shown["single sign-on"]))
    data |= {url for pair in urls for url in pair if url}
    secrets = set(re.findall(r'data-testid="totp-secret">([^<]+)<', shown["two-factor demanded"]))
    _no_leaks(shown, data | secrets)


def test_api_settings_webhook_and_reference_pages_show_no_text_outside_the_translation_layer(
    app,
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    shown = {}
    shown["api settings, empty"] = page = _get(client, f"{base}/settings/api")
    token = csrf_token_from(page)
    shown["client created"] = page = _after(
        client, f"{base}/settings/api/clients", {"name": "Pseudo", "scopes": ["contacts:read"]}, token
    )
    client_pk = re.search(r"/settings/api/clients/([0-9a-f-]{36})/revoke", page).group(1)
    make_token(tenant_a)
    with running_receiver() as receiver:
        shown["subscribed"] = page = _after(
            client, f"{base}/settings/webhooks",
            {"url": receiver.url, "events": ["contact.created"], "description": "Pseudo"}, token,
        )  # fmt: skip
        subscription = re.search(r"/settings/webhooks/([0-9a-f-]{36})", page).group(1)
        path = f"{base}/settings/webhooks/{subscription}"
        for action in ("disable", "enable", "rotate"):
            shown[f"subscription {action}"] = _after(client, path, {"action": action}, token)
        shown["subscription deleted"] = _after(client, path, {"action": "delete"}, token)
        shown["client revoked"] = page = _after(
            client, f"{base}/settings/api/clients/{client_pk}/revoke", {}, token
        )
        token_id = re.search(r"/settings/api/tokens/([0-9a-f-]{36})/revoke", page).group(1)
        shown["token revoked"] = _after(client, f"{base}/settings/api/tokens/{token_id}/revoke", {}, token)
    shown["workspace api reference"] = reference = _get(client, f"{base}/api/docs")
    # What <code> shows is code: client ids, token prefixes, signing secrets, requests and paths.
    code = set(re.findall(r"<code>([^<]+)</code>", "".join(shown.values())))

    spec = client.get(f"{base}/api/openapi.json").json
    # The API's own document is English for programs (as the API speaks); the page shows it as written.
    written = {spec["info"]["title"], spec["info"]["description"], spec["info"]["version"]}
    for methods in spec["paths"].values():
        written |= {method.upper() for method in methods}
        for operation in methods.values():
            if isinstance(operation, dict):
                written |= {operation.get("summary", ""), operation.get("description", "")}
    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Pseudo", "tests", receiver.url,
        *api_scopes(app), *KNOWN_EVENTS, "https://example.com/hooks", *MONTHS, *code,
        *(text for text in written if text),
    }  # fmt: skip
    assert "<code>" in reference
    _no_leaks(shown, data)
