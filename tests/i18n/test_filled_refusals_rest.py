"""A refusal that names what it refused (a merge field, a stage, a workspace address) reads whole in the
reader's language on the page that shows it, the value inside the sentence, while the API's problem+json
keeps the English text with the same value. Shown in the pseudo-locale, where every translated text is
⟦wrapped⟧: a sentence formatted before the catalogs were asked would show outside the markers."""

from __future__ import annotations

from html import unescape

from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.i18n.refusals import api_in_english, page_text, post_form
from tests.i18n.test_pseudo_locale import HEADERS, pseudo_locale  # noqa: F401


def test_service_macro_page_names_the_unknown_merge_field_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    form = {
        "name": "Oops",
        "scope": "personal",
        "reply": "Hi {{ contact.shoe_size }}",
        "reply_kind": "public",
    }
    page = post_form(client, f"/t/{tenant_a.slug}/macros", form)
    assert page.status_code == 422
    assert "⟦Unknown merge field: contact.shoe_size. Known: ticket.subject, " in page_text(page)

    macro = {"name": "Oops", "reply": "Hi {{ contact.shoe_size }}"}
    api = api_in_english(client, tenant_a, "POST", "/api/v1/macros", json=macro)
    assert api.status_code == 422
    assert api.json["errors"]["reply"][0].startswith("Unknown merge field: contact.shoe_size. Known: ")


def test_campaign_page_names_the_unknown_merge_field_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    campaign = {"name": "Spring", "subject": "Hi {{ frist_name }}"}
    page = post_form(client, f"/t/{tenant_a.slug}/marketing/campaigns/new", campaign)
    assert page.status_code == 422
    assert "⟦Unknown merge field 'frist_name'; use: first_name" in page_text(page)

    api = api_in_english(client, tenant_a, "POST", "/api/v1/marketing/campaigns", json=campaign)
    assert api.status_code == 422
    assert api.json["errors"]["subject"][0].startswith("Unknown merge field 'frist_name'; use: first_name")


def test_pipeline_settings_name_the_stage_that_still_holds_deals_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    headers = bearer(make_token(tenant_a))
    pipelines = client.get("/api/v1/pipelines", headers=headers).json["data"]
    stages = next(p for p in pipelines if p["is_default"])["stages"]
    proposal = next(stage for stage in stages if stage["name"] == "Proposal")
    held = client.post("/api/v1/deals", json={"name": "Held", "stage_id": proposal["id"]}, headers=headers)
    assert held.status_code == 201

    login(client, tenant_a.email, tenant_a.password)
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/settings/pipelines", headers=HEADERS).text)
    page = client.post(
        f"/t/{tenant_a.slug}/settings/stages/{proposal['id']}/delete",
        data={"csrf_token": token},
        headers=HEADERS,
    )
    assert page.status_code == 409
    assert "⟦Stage 'Proposal' still holds 1 deal(s); move them to another stage" in unescape(page.text)

    api = client.delete(f"/api/v1/stages/{proposal['id']}", headers={**HEADERS, **headers})
    assert api.status_code == 409 and "⟦" not in api.text
    assert api.json["detail"].startswith("Stage 'Proposal' still holds 1 deal(s); move them")


def test_signup_names_the_reserved_workspace_address_in_the_readers_language(
    client,
    pseudo_locale,  # noqa: F811
):
    form = {
        "csrf_token": csrf_token_from(client.get("/signup", headers=HEADERS).text),
        "accept_terms": "1",
        "name": "Reserved Ltd",
        "slug": "admin",
        "admin_email": "owner@reserved.example.com",
    }
    page = client.post("/signup", data=form, headers=HEADERS)
    assert page.status_code == 422
    assert "⟦'admin' is reserved.⟧" in unescape(page.text)

    english = client.post("/signup", data=form)
    assert english.status_code == 422 and "'admin' is reserved." in unescape(english.text)
    assert "⟦" not in english.text


def test_kanban_move_to_a_lost_stage_names_it_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    headers = bearer(make_token(tenant_a))
    pipelines = client.get("/api/v1/pipelines", headers=headers).json["data"]
    stages = next(p for p in pipelines if p["is_default"])["stages"]
    lost = next(stage for stage in stages if stage["kind"] == "lost")
    deal = client.post("/api/v1/deals", json={"name": "Slipping"}, headers=headers).json

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/deals/{deal['id']}", headers=HEADERS)
    moved = client.post(
        f"/t/{tenant_a.slug}/deals/{deal['id']}/move",
        data={"csrf_token": csrf_token_from(page.text), "stage_id": lost["id"]},
        headers={**HEADERS, "Accept": "application/json"},
    )
    assert moved.status_code == 422
    assert moved.json["detail"] == f"⟦Moving a deal to '{lost['name']}' marks it lost: say why.⟧"
    assert moved.json["errors"]["lost_reason"] == ["⟦Give the reason the deal was lost.⟧"]

    api = client.patch(
        f"/api/v1/deals/{deal['id']}", json={"stage_id": lost["id"]}, headers={**HEADERS, **headers}
    )
    assert api.status_code == 422 and "⟦" not in api.text
    assert api.json["detail"].startswith(f"Moving a deal to '{lost['name']}' marks it lost: say why.")
