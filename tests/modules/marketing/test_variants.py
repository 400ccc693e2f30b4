"""Campaign variants per language: each recipient gets the variant in their contact's preferred language,
everyone else the campaign's own content; bad variants are refused by API and page without losing
anything; another tenant can neither read nor change them."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.marketing import campaigns
from saas.modules.marketing.models import Campaign, CampaignRecipient, CampaignVariant
from saas.modules.privacy.subject import collect_personal_data
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    run_jobs,
    schedule_now,
    sender_settings,
)

GERMAN = {
    "locale": "de",
    "subject": "Neuigkeiten für {{ first_name }}",
    "html_body": '<p>Hallo {{ first_name | "du" }}!</p><p><a href="https://acme.example/de/angebot">Angebot</a></p>',
    "text_body": "Hallo {{ first_name }}!\nAngebot: https://acme.example/de/angebot\n",
}
API = "/api/v1/marketing/campaigns"


def _prefer(fixture, languages: dict[str, str | None]) -> None:
    with tenant_session(fixture.ref) as session:
        for email, locale in languages.items():
            session.execute(update(Contact).where(Contact.email == email).values(preferred_locale=locale))


def _variants(fixture, campaign_id) -> list[tuple[str, str]]:
    with tenant_session(fixture.ref) as session:
        return list(
            session.execute(
                select(CampaignVariant.locale, CampaignVariant.subject)
                .where(CampaignVariant.campaign_id == uuid.UUID(str(campaign_id)))
                .order_by(CampaignVariant.locale)
            ).tuples()
        )


def _parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_a_contact_preferring_german_gets_the_german_variant_and_everyone_else_the_default(
    client, tenant_a, mail_sink
):
    people = add_people(tenant_a, {"granted": 3})["granted"]
    german, russian, unknown = people  # no Russian variant: the default; no language at all: the default
    _prefer(tenant_a, {german: "de", russian: "ru", unknown: None})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        campaigns.update_campaign(session, uuid.UUID(campaign_id), {"variants": [GERMAN]})
    schedule_now(tenant_a, campaign_id)
    run_jobs()

    [to_german] = mail_sink.to(german)
    text, html = _parts(to_german)
    assert to_german["Subject"] == "Neuigkeiten für Granted0"
    assert text.startswith("Hallo Granted0!") and "Hallo Granted0!" in html
    # The variant's own link is tracked like the default's (a signed click redirect, not the raw URL).
    assert "https://acme.example/de/angebot" not in text and "/c/" in text
    # The footer speaks the variant's language too.
    assert "\n--\nAbmelden: http" in text and "von Acme News zu hören" in html
    for other, name in ((russian, "Granted1"), (unknown, "Granted2")):
        [message] = mail_sink.to(other)
        text, html = _parts(message)
        assert message["Subject"] == f"News for {name}"
        assert text.startswith(f"Hello {name}!") and "Hallo" not in text + html
        assert "\n--\nUnsubscribe: http" in text and "Abmelden" not in html
    with tenant_session(tenant_a.ref) as session:
        chosen = dict(
            session.execute(
                select(CampaignRecipient.email, CampaignRecipient.locale).where(
                    CampaignRecipient.campaign_id == uuid.UUID(campaign_id)
                )
            ).all()
        )
        report = campaigns.campaign_report(session, uuid.UUID(campaign_id))
        # The person's data names the subject they were really sent, and its language.
        german_id = session.scalar(select(Contact.id).where(Contact.email == german))
        [delivery] = collect_personal_data(session, german_id)["marketing"]["emails"]
    assert (delivery["subject"], delivery["language"]) == (GERMAN["subject"], "de")
    assert chosen == {german: "de", russian: None, unknown: None}
    assert report.sent_by_language == {"default": 2, "de": 1}

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}/report")
    assert page.status_code == 200
    assert 'id="sent-by-language"' in page.text and "Deutsch" in page.text
    answer = client.get(f"{API}/{campaign_id}/report", headers=bearer(make_token(tenant_a)))
    assert answer.get_json()["sent_by_language"] == {"default": 2, "de": 1}


def test_the_api_writes_reads_and_replaces_variants(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    created = client.post(
        API, headers=headers,
        json={"name": "Launch", "subject": "Hi", "text_body": "Hi", "variants": [GERMAN, {
            "locale": "zh-Hans", "subject": "你好 {{ first_name }}", "text_body": "你好"}]},
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert [(v["locale"], v["subject"]) for v in body["variants"]] == [
        ("de", GERMAN["subject"]), ("zh_Hans", "你好 {{ first_name }}")
    ]  # fmt: skip
    # A PATCH without variants keeps them; with a list it replaces the set; [] removes them all.
    client.patch(f"{API}/{body['id']}", headers=headers, json={"name": "Launch 2"})
    assert len(client.get(f"{API}/{body['id']}", headers=headers).get_json()["variants"]) == 2
    replaced = client.patch(
        f"{API}/{body['id']}", headers=headers, json={"variants": [{"locale": "fa", "subject": "سلام"}]}
    )
    assert [v["locale"] for v in replaced.get_json()["variants"]] == ["fa"]
    assert (
        client.patch(f"{API}/{body['id']}", headers=headers, json={"variants": []}).get_json()["variants"]
        == []
    )
    assert _variants(tenant_a, body["id"]) == []


def test_unknown_or_duplicate_language_or_empty_subject_is_refused_by_the_api_and_changes_nothing(
    client, tenant_a
):
    headers = bearer(make_token(tenant_a))
    campaign_id = client.post(
        API, headers=headers, json={"name": "Keep", "subject": "Hi", "text_body": "Hi", "variants": [GERMAN]}
    ).get_json()["id"]
    bad = {
        "unknown language": ([{**GERMAN, "locale": "xx"}], "variants.0"),
        "duplicate language": ([GERMAN, {**GERMAN, "locale": "DE", "subject": "Noch mal"}], "variants.1"),
        "empty subject": ([{**GERMAN, "subject": "  "}], "variants.0"),
        "unknown merge field": ([{**GERMAN, "subject": "Hallo {{ frist_name }}"}], "variants.0"),
    }
    for case, (variants, field) in bad.items():
        new, changed = {"name": "New", "subject": "Hi"}, {"name": "Lost"}
        for answer in (
            client.post(API, headers=headers, json={**new, "variants": variants}),
            client.patch(f"{API}/{campaign_id}", headers=headers, json={**changed, "variants": variants}),
        ):
            assert answer.status_code == 422, case
            assert answer.mimetype == "application/problem+json", case
            assert field in answer.get_json()["errors"], (case, answer.get_json())
    # The API speaks English to programs, whatever the client's Accept-Language.
    german_client = client.post(
        API, headers={**headers, "Accept-Language": "de"},
        json={"name": "N", "subject": "S", "variants": [GERMAN, GERMAN]},
    )  # fmt: skip
    assert german_client.get_json()["errors"]["variants.1"] == ["This language has a variant already."]
    missing_locale = client.post(API, headers=headers, json={"name": "N", "subject": "S", "variants": [{}]})
    assert missing_locale.status_code == 422 and missing_locale.mimetype == "application/problem+json"
    listed = client.get(API, headers=headers).get_json()["data"]
    assert [(c["name"], len(c["variants"])) for c in listed] == [("Keep", 1)]
    assert _variants(tenant_a, campaign_id) == [("de", GERMAN["subject"])]


def _variant_form(token: str, *rows: dict[str, str], **fields: str) -> dict[str, str]:
    data = {"csrf_token": token, "name": "Autumn", "subject": "News", "text_body": "Hello", **fields}
    data["variant_rows"] = str(len(rows))
    for index, row in enumerate(rows):
        data |= {f"variant_{index}_{name}": value for name, value in row.items()}
    return data


def test_staff_add_and_remove_variants_on_the_campaign_page_and_a_bad_one_loses_nothing(client, tenant_a):
    campaign_id = make_campaign(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}"
    page = client.get(url)
    assert 'name="variant_0_locale"' in page.text and 'name="variant_rows" value="1"' in page.text
    token = csrf_token_from(page.text)
    russian = {"locale": "ru", "subject": "Новости для {{ first_name }}", "text_body": "Привет!"}
    duplicate = {"locale": "ru", "subject": "Ещё одна тема", "text_body": "Второй текст"}

    refused = client.post(url, data=_variant_form(token, russian, duplicate, name="Autumn, edited"))
    assert refused.status_code == 422
    assert "This language has a variant already." in refused.text
    # Everything typed comes back: the name, both variants' subjects and bodies.
    for typed in ("Autumn, edited", "Новости для {{ first_name }}", "Ещё одна тема", "Второй текст"):
        assert typed in refused.text, typed
    assert _variants(tenant_a, campaign_id) == []
    assert client.post(url, data=_variant_form(token, {**russian, "subject": ""})).status_code == 422
    # The message speaks the page's language (the API's stays English).
    in_german = client.post(
        url, data=_variant_form(token, russian, duplicate), headers={"Accept-Language": "de"}
    )
    assert "Für diese Sprache gibt es schon eine Variante." in in_german.text

    saved = client.post(url, data=_variant_form(token, russian, {"locale": "", "subject": ""}))
    assert saved.status_code == 302
    assert _variants(tenant_a, campaign_id) == [("ru", russian["subject"])]
    shown = client.get(url).text
    assert "Новости для {{ first_name }}" in shown and "Русский" in shown

    removed = client.post(url, data=_variant_form(token, {**russian, "remove": "1"}))
    assert removed.status_code == 302 and _variants(tenant_a, campaign_id) == []


def test_tenant_b_cannot_read_or_change_tenant_a_variants_by_api_or_page(client, tenant_a, tenant_b):
    campaign_id = make_campaign(tenant_a, name="Secret launch")
    with tenant_session(tenant_a.ref) as session:
        campaigns.update_campaign(session, uuid.UUID(campaign_id), {"variants": [GERMAN]})
    headers = bearer(make_token(tenant_b))
    assert client.get(f"{API}/{campaign_id}", headers=headers).status_code == 404
    patch = client.patch(f"{API}/{campaign_id}", headers=headers, json={"variants": []})
    assert patch.status_code == 404
    assert client.get(API, headers=headers).get_json()["data"] == []

    login(client, tenant_b.email, tenant_b.password)
    b_url = f"/t/{tenant_b.slug}/marketing/campaigns/{campaign_id}"
    assert client.get(b_url).status_code == 404
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/marketing/campaigns/new").text)
    assert client.post(b_url, data=_variant_form(token)).status_code == 404
    # B's own URL for A's workspace is refused outright (not a member).
    assert client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}").status_code in (403, 404)
    with tenant_session(tenant_a.ref) as session:
        campaign = session.get(Campaign, uuid.UUID(campaign_id))
        assert campaign.name == "Secret launch"
    assert _variants(tenant_a, campaign_id) == [("de", GERMAN["subject"])]


def test_a_test_send_checks_one_language_variant_and_refuses_a_language_the_campaign_lacks(
    client, tenant_a, mail_sink
):
    add_people(tenant_a, {"granted": 1})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        campaigns.update_campaign(session, uuid.UUID(campaign_id), {"variants": [GERMAN]})
    headers = bearer(make_token(tenant_a))
    test = f"{API}/{campaign_id}/test"
    refused = client.post(test, headers=headers, json={"to": "qa@acme.example", "locale": "ru"})
    assert refused.status_code == 422 and "locale" in refused.get_json()["errors"]
    assert (
        client.post(test, headers=headers, json={"to": "qa@acme.example", "locale": "de"}).status_code == 202
    )

    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}"
    token = csrf_token_from(client.get(url).text)
    assert (
        client.post(f"{url}/test", data={"csrf_token": token, "to": "staff@acme.example"}).status_code == 302
    )
    run_jobs()
    [german] = mail_sink.to("qa@acme.example")
    [default] = mail_sink.to("staff@acme.example")
    assert german["Subject"] == "[Test] Neuigkeiten für Granted0"
    assert "Testnachricht" in _parts(german)[0]
    assert default["Subject"] == "[Test] News for Granted0"
