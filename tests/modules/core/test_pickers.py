"""Relation pickers: account 201 and beyond can be chosen (picker endpoint, form without script, API),
the picker finds only the workspace's own records, and unknown or switched-off record types are refused."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.models import Account, Contact
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token


def _seed_accounts(fixture, count: int, name: str = "Firm") -> None:
    with tenant_session(fixture.ref) as session:
        session.execute(insert(Account), [{"name": f"{name} {i:03d}"} for i in range(count)])


def _account_id(fixture, name: str):
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(Account.id).where(Account.name == name))


def test_picker_finds_account_past_the_first_200(client, tenant_a):
    _seed_accounts(tenant_a, 250)
    login(client, tenant_a.email, tenant_a.password)
    answer = client.get(f"/t/{tenant_a.slug}/pick/accounts?q=firm+24")
    assert answer.status_code == 200
    labels = [pick["label"] for pick in answer.get_json()["data"]]
    assert labels[:2] == ["Firm 240", "Firm 241"] and len(labels) == 10
    assert answer.get_json()["data"][0]["id"] == str(_account_id(tenant_a, "Firm 240"))


def test_contact_form_without_script_takes_account_201_by_name(client, tenant_a):
    _seed_accounts(tenant_a, 250)
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/contacts/new")
    assert "<select" not in form.text and 'data-picker-url="/t/' in form.text
    created = client.post(
        f"/t/{tenant_a.slug}/contacts/new",
        data={"csrf_token": csrf_token_from(form.text), "last_name": "Picked", "account_id": "",
              "account_id_q": "firm 201"},
    )  # fmt: skip
    assert created.status_code == 302, created.text
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.last_name == "Picked"))
        assert contact.account.name == "Firm 201"
    # The edit form shows the account's name, and posting it unchanged keeps the same account.
    edit_url = f"/t/{tenant_a.slug}/contacts/{contact.id}/edit"
    edit = client.get(edit_url)
    assert 'value="Firm 201"' in edit.text and f'value="{contact.account_id}"' in edit.text
    kept = client.post(
        edit_url,
        data={"csrf_token": csrf_token_from(edit.text), "last_name": "Picked",
              "account_id": str(contact.account_id), "account_id_q": "Firm 201"},
    )  # fmt: skip
    assert kept.status_code == 302


def test_form_with_an_ambiguous_name_offers_the_matches_to_choose(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        first = services.accounts.create(session, {"name": "Twin Corp", "domain": "twin.example"})
        services.accounts.create(session, {"name": "Twin Corp", "domain": "twin.test"})
        first_id = first.id
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/contacts/new")
    data = {"csrf_token": csrf_token_from(form.text), "last_name": "Ambi", "account_id": ""}
    refused = client.post(f"/t/{tenant_a.slug}/contacts/new", data={**data, "account_id_q": "twin corp"})
    assert refused.status_code == 422
    assert "Several records match" in refused.text
    assert "twin.example" in refused.text and "twin.test" in refused.text
    unknown = client.post(f"/t/{tenant_a.slug}/contacts/new", data={**data, "account_id_q": "Nowhere Ltd"})
    assert unknown.status_code == 422 and "Nothing matches" in unknown.text
    # Choosing one of the offered matches (the select posts its id) saves.
    chosen = client.post(f"/t/{tenant_a.slug}/contacts/new", data={**data, "account_id": str(first_id)})
    assert chosen.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Contact.account_id).where(Contact.last_name == "Ambi")) == first_id


def test_api_takes_account_201(client, tenant_a):
    _seed_accounts(tenant_a, 250)
    account_id = _account_id(tenant_a, "Firm 201")
    created = client.post(
        "/api/v1/contacts", json={"last_name": "Api", "account_id": str(account_id)},
        headers=bearer(make_token(tenant_a)),
    )  # fmt: skip
    assert created.status_code == 201 and created.get_json()["account_id"] == str(account_id)


def test_picker_never_shows_another_tenants_records(client, tenant_a, tenant_b):
    _seed_accounts(tenant_b, 3, name="Beta Only")
    _seed_accounts(tenant_a, 1, name="Alpha Own")
    beta_id = _account_id(tenant_b, "Beta Only 000")
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    assert client.get(f"{base}/pick/accounts?q=beta").get_json() == {"data": []}
    everything = client.get(f"{base}/pick/accounts?q=").get_json()["data"]
    assert [pick["label"] for pick in everything] == ["Alpha Own 000"]
    # Tenant B's id typed into tenant A's form names nothing here.
    form = client.get(f"{base}/contacts/new")
    refused = client.post(
        f"{base}/contacts/new",
        data={"csrf_token": csrf_token_from(form.text), "last_name": "X", "account_id": "",
              "account_id_q": str(beta_id)},
    )  # fmt: skip
    assert refused.status_code == 422
    # Tenant B's slug is not tenant A's member's to use.
    assert client.get(f"/t/{tenant_b.slug}/pick/accounts?q=beta").status_code == 404


def test_picker_refuses_unknown_and_switched_off_record_types(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    assert client.get(f"{base}/pick/nothing_such?q=a").status_code == 404
    assert client.get(f"{base}/pick/deals?q=a").status_code == 200
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    off = client.get(f"{base}/pick/deals?q=a")
    assert off.status_code == 404 and "switched off" in off.text


def test_deal_form_picks_its_account(client, tenant_a):
    _seed_accounts(tenant_a, 210)
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/deals/new")
    assert 'data-picker-url="/t/' in form.text
    stage = re.search(r'name="stage_id">\s*<option value="([0-9a-f-]{36})"', form.text).group(1)
    created = client.post(
        f"/t/{tenant_a.slug}/deals/new",
        data={"csrf_token": csrf_token_from(form.text), "name": "Big", "amount": "10", "currency": "EUR",
              "stage_id": stage, "account_id": "", "account_id_q": "Firm 205"},
    )  # fmt: skip
    assert created.status_code == 302, created.text
    assert "Firm 205" in client.get(created.headers["Location"]).text
