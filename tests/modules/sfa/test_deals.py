"""Deals: creation in a stage, stage moves with their history and timeline entries, won/lost, filters,
pages and the pipeline board; bad input is refused and writes nothing."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.models import Activity
from saas.modules.sfa.models import Deal, DealStageChange, Pipeline, Stage
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def stage_ids(fixture) -> dict[str, str]:
    """Stage name -> id of the tenant's default pipeline."""
    with tenant_session(fixture.ref) as session:
        rows = session.execute(
            select(Stage.name, Stage.id).join(Pipeline).where(Pipeline.is_default).order_by(Stage.position)
        )
        return {name: str(stage_id) for name, stage_id in rows}


def _user_id(email: str) -> str:
    from saas.auth.services import find_user_by_email

    return str(find_user_by_email(db.session, email).id)


def count(fixture, model) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model))


def create_deal(client, headers, **fields) -> dict:
    response = client.post("/api/v1/deals", json={"name": "Deal", **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def account_and_contact(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        account = services.accounts.create(session, {"name": "Initech"})
        contact = services.contacts.create(session, {"last_name": "Lumbergh", "account_id": account.id})
        return str(account.id), str(contact.id)


def test_new_deal_starts_in_the_first_open_stage_owned_by_its_creator_with_history(client, tenant_a, headers):
    deal = create_deal(client, headers, amount="1200.50", currency="usd", close_date="2031-05-01")
    assert deal["stage_id"] == stage_ids(tenant_a)["Prospecting"]
    assert (deal["stage_name"], deal["probability"], deal["status"]) == ("Prospecting", 10, "open")
    assert (deal["amount"], deal["currency"]) == ("1200.50", "USD")
    assert deal["owner_user_id"] == _user_id(tenant_a.email)
    history = client.get(f"/api/v1/deals/{deal['id']}/history", headers=headers).get_json()["data"]
    assert [(h["from_stage_id"], h["to_stage_id"], h["probability"]) for h in history] == [
        (None, deal["stage_id"], 10)
    ]


def test_stage_move_records_from_to_probability_who_and_a_timeline_entry(
    client, tenant_a, headers, account_and_contact
):
    account_id, contact_id = account_and_contact
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers, name="Printers", account_id=account_id, contact_ids=[contact_id])
    moved = client.post(
        f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Proposal"]}, headers=headers
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["stage_name"], moved.get_json()["probability"]) == ("Proposal", 50)

    history = client.get(f"/api/v1/deals/{deal['id']}/history", headers=headers).get_json()["data"]
    last = history[-1]
    assert (last["from_stage_id"], last["to_stage_id"], last["probability"]) == (
        stages["Prospecting"], stages["Proposal"], 50,
    )  # fmt: skip
    assert last["changed_by_user_id"] == _user_id(tenant_a.email) and last["changed_at"]
    # The move is on the account's and the contact's timeline (single customer view).
    for query in (f"account_id={account_id}", f"contact_id={contact_id}"):
        timeline = client.get(f"/api/v1/activities?{query}", headers=headers).get_json()["data"]
        assert timeline[0]["subject"] == "Deal moved: Printers" and timeline[0]["kind"] == "system"
        assert "From Prospecting to Proposal; win probability 50%" in timeline[0]["body"]
        assert timeline[0]["deal_id"] == deal["id"]


def test_history_keeps_the_probability_of_the_time_after_the_stage_changes(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers)
    client.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Proposal"]}, headers=headers)
    with tenant_session(tenant_a.ref) as session:
        session.get(Stage, uuid.UUID(stages["Proposal"])).probability = 60
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()["probability"] == 60
    history = client.get(f"/api/v1/deals/{deal['id']}/history", headers=headers).get_json()["data"]
    assert history[-1]["probability"] == 50


def test_won_stage_closes_the_deal_and_an_open_stage_reopens_it(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers)
    won = client.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Won"]}, headers=headers)
    assert won.get_json()["status"] == "won" and won.get_json()["closed_at"]
    reopened = client.post(
        f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Negotiation"]}, headers=headers
    ).get_json()
    assert (reopened["status"], reopened["closed_at"], reopened["probability"]) == ("open", None, 75)


def test_lost_needs_a_reason_and_without_one_nothing_is_written(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers)
    before = (count(tenant_a, DealStageChange), count(tenant_a, Activity))
    refused = client.post(
        f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Lost"]}, headers=headers
    )
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "lost_reason" in refused.get_json()["errors"]
    assert (count(tenant_a, DealStageChange), count(tenant_a, Activity)) == before
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()["status"] == "open"

    lost = client.post(
        f"/api/v1/deals/{deal['id']}/move",
        json={"stage_id": stages["Lost"], "lost_reason": " Budget cut "},
        headers=headers,
    ).get_json()
    assert (lost["status"], lost["lost_reason"], lost["probability"]) == ("lost", "Budget cut", 0)
    assert lost["closed_at"]
    # Clearing the reason of a lost deal is refused; reopening it clears the reason.
    url = f"/api/v1/deals/{deal['id']}"
    assert client.patch(url, json={"lost_reason": None}, headers=headers).status_code == 422
    reopened = client.patch(url, json={"stage_id": stages["Qualification"]}, headers=headers).get_json()
    assert (reopened["status"], reopened["lost_reason"]) == ("open", None)


def test_moving_to_the_stage_it_is_in_records_nothing(client, tenant_a, headers):
    deal = create_deal(client, headers)
    before = count(tenant_a, DealStageChange)
    again = client.post(
        f"/api/v1/deals/{deal['id']}/move", json={"stage_id": deal["stage_id"]}, headers=headers
    )
    assert again.status_code == 200 and count(tenant_a, DealStageChange) == before


def test_patch_changes_fields_and_contacts_without_a_move(client, tenant_a, headers, account_and_contact):
    account_id, contact_id = account_and_contact
    deal = create_deal(client, headers, contact_ids=[contact_id])
    url = f"/api/v1/deals/{deal['id']}"
    before = count(tenant_a, DealStageChange)
    patched = client.patch(
        url, json={"amount": 99.5, "account_id": account_id, "contact_ids": []}, headers=headers
    )
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert (body["amount"], body["account_id"], body["contact_ids"]) == ("99.50", account_id, [])
    assert count(tenant_a, DealStageChange) == before


def test_list_filters_and_pages_through_every_deal_once(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    member_email = f"seller-{tenant_a.slug}@example.com"
    member = add_member(db.session, tenant_a.tenant.id, member_email, PASSWORD, "member", actor="test")
    db.session.commit()
    for i in range(7):
        create_deal(
            client, headers, name=f"D{i}", close_date=f"2031-0{i + 1}-15", owner_user_id=str(member.user_id)
        )
    create_deal(client, headers, name="Mine", stage_id=stages["Won"])

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/deals?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [row["name"] for row in response.get_json()["data"]]

    assert names(f"owner_user_id={member.user_id}") == [f"D{i}" for i in range(7)]
    assert names("status=won") == ["Mine"] == names(f"stage_id={stages['Won']}")
    assert names("close_from=2031-03-01&close_to=2031-05-15") == ["D2", "D3", "D4"]
    pipeline = client.get("/api/v1/pipelines", headers=headers).get_json()["data"][0]["id"]
    assert len(names(f"pipeline_id={pipeline}")) == 8
    assert names("q=mine") == ["Mine"]
    seen, cursor = [], ""
    while True:
        page = client.get(f"/api/v1/deals?limit=3{cursor}", headers=headers).get_json()
        seen += [row["name"] for row in page["data"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(seen, key=str.lower) and len(seen) == len(set(seen)) == 8


UNKNOWN = "7f1d3f62-5a6b-4a8e-9f00-000000000000"
BAD_DEALS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"amount": -1}, "amount"),
    ({"amount": "12.345"}, "amount"),
    ({"amount": "lots"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "1000000000000"}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"close_date": "2031-02-30"}, "close_date"),
    ({"stage_id": UNKNOWN}, "stage_id"),
    ({"pipeline_id": UNKNOWN}, "pipeline_id"),
    ({"owner_user_id": UNKNOWN}, "owner_user_id"),
    ({"account_id": UNKNOWN}, "account_id"),
    ({"contact_ids": [UNKNOWN]}, "contact_ids"),
    ({"contact_ids": "not-a-list"}, "contact_ids"),
    ({"status": "won"}, "status"),
    ({"lost_reason": "x" * 201}, "lost_reason"),
]


def written(fixture) -> tuple[int, int, int]:
    return count(fixture, Deal), count(fixture, DealStageChange), count(fixture, Activity)


def test_bad_deal_is_refused_with_a_problem_and_nothing_written(client, tenant_a, headers):
    before = written(tenant_a)
    for body, field in BAD_DEALS:
        body = {"name": "Ok", **body} if field != "name" else body
        response = client.post("/api/v1/deals", json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json" and field in response.get_json()["errors"], (
            body
        )
    assert written(tenant_a) == before


def test_bad_deal_update_is_refused_and_changes_nothing(client, tenant_a, headers):
    deal = create_deal(client, headers, name="Stable", amount="10.00")
    url = f"/api/v1/deals/{deal['id']}"
    before = written(tenant_a)
    for body, field in [*BAD_DEALS[1:], ({"stage_id": stage_ids(tenant_a)["Lost"]}, "lost_reason")]:
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], body
    after = client.get(url, headers=headers).get_json()
    assert (after["name"], after["amount"], after["stage_id"]) == ("Stable", "10.00", deal["stage_id"])
    assert written(tenant_a) == before


def test_bad_move_is_refused_and_moves_nothing(client, tenant_a, headers):
    deal = create_deal(client, headers)
    url = f"/api/v1/deals/{deal['id']}"
    before = written(tenant_a)
    cases = [({}, "stage_id"), ({"stage_id": "nope"}, "stage_id"), ({"stage_id": UNKNOWN}, "stage_id"),
             ({"stage_id": UNKNOWN, "extra": 1}, "extra")]  # fmt: skip
    for body, field in cases:
        response = client.post(f"{url}/move", json=body, headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"], body
    assert client.get(url, headers=headers).get_json()["stage_id"] == deal["stage_id"]
    assert written(tenant_a) == before


def test_deleting_a_deal_keeps_its_account_timeline(client, tenant_a, headers, account_and_contact):
    account_id, _ = account_and_contact
    deal = create_deal(client, headers, name="Gone", account_id=account_id)
    assert client.delete(f"/api/v1/deals/{deal['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=headers).status_code == 404
    timeline = client.get(f"/api/v1/activities?account_id={account_id}", headers=headers).get_json()["data"]
    assert [entry["subject"] for entry in timeline] == ["Deal deleted: Gone", "Deal opened: Gone"]


# Pages


def _deal_id_from(location: str) -> str:
    return re.search(r"/deals/([0-9a-f-]{36})", location).group(1)


def test_member_creates_a_deal_through_the_form_and_sees_its_history(client, tenant_a, account_and_contact):
    account_id, contact_id = account_and_contact
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/deals/new")
    assert form.status_code == 200 and "Lumbergh" in form.text
    created = client.post(
        f"{base}/deals/new",
        data={"csrf_token": csrf_token_from(form.text), "name": "Staplers", "amount": "250.00",
              "currency": "eur", "close_date": "2031-03-01", "stage_id": stage_ids(tenant_a)["Qualification"],
              "lost_reason": "", "owner_user_id": "", "account_id": account_id, "contact_ids": [contact_id],
              "notes": ""},
    )  # fmt: skip
    assert created.status_code == 302, created.text
    detail = client.get(created.headers["Location"])
    assert "Staplers" in detail.text and "EUR 250.00" in detail.text and "Qualification (25%)" in detail.text
    assert "Deal opened: Staplers" in detail.text  # the deal's timeline
    assert client.get(f"{base}/deals?status=open&q=stap").text.count("Staplers") == 1
    assert "Staplers" not in client.get(f"{base}/deals?status=won").text


def test_invalid_deal_form_shows_messages_keeps_input_and_writes_nothing(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/deals/new")
    before = count(tenant_a, Deal)
    response = client.post(
        f"/t/{tenant_a.slug}/deals/new",
        data={
            "csrf_token": csrf_token_from(form.text),
            "name": "Kept name",
            "amount": "-5",
            "currency": "EUR",
        },
    )
    assert response.status_code == 422
    assert 'id="amount-error"' in response.text and 'value="Kept name"' in response.text
    assert count(tenant_a, Deal) == before


def test_bad_list_filter_shows_a_message(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    response = client.get(f"/t/{tenant_a.slug}/deals?status=maybe&close_from=2031-02-01&close_to=2031-01-01")
    assert response.status_code == 422 and 'id="status-error"' in response.text


def test_board_shows_stage_columns_with_totals_per_currency(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    create_deal(
        client, headers, name="Euro one", amount="100.10", currency="EUR", stage_id=stages["Proposal"]
    )
    create_deal(client, headers, name="Euro two", amount="0.90", currency="EUR", stage_id=stages["Proposal"])
    create_deal(client, headers, name="Dollar", amount="5.00", currency="USD", stage_id=stages["Proposal"])
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/pipeline")
    assert page.status_code == 200
    proposal = page.text.split(f'data-stage-id="{stages["Proposal"]}"')[1].split("</section>")[0]
    assert "3 deals" in proposal and "EUR 101.00" in proposal and "USD 5.00" in proposal
    assert "EUR 106" not in proposal  # currencies are never added together
    assert proposal.count('class="kanban-card"') == 3 and 'draggable="true"' in proposal
    assert "sfa-kanban.js" in page.text
    assert client.get("/static/sfa-kanban.js").status_code == 200


def test_card_form_moves_a_deal_without_script_and_back_to_the_board(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers, name="Keyboard")
    login(client, tenant_a.email, tenant_a.password)
    board = client.get(f"/t/{tenant_a.slug}/pipeline")
    token = csrf_token_from(board.text)
    moved = client.post(
        f"/t/{tenant_a.slug}/deals/{deal['id']}/move",
        data={"csrf_token": token, "stage_id": stages["Negotiation"], "next": f"/t/{tenant_a.slug}/pipeline"},
    )
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"/t/{tenant_a.slug}/pipeline")
    assert (
        client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()["stage_name"] == "Negotiation"
    )
    # Without a lost reason the deal's page says what is missing, and nothing moved.
    refused = client.post(
        f"/t/{tenant_a.slug}/deals/{deal['id']}/move", data={"csrf_token": token, "stage_id": stages["Lost"]}
    )
    assert refused.status_code == 422 and "say why" in refused.text
    assert 'id="move-lost-reason-error"' in refused.text
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()["status"] == "open"


def test_drag_and_drop_move_answers_json(client, tenant_a, headers):
    stages = stage_ids(tenant_a)
    deal = create_deal(client, headers)
    login(client, tenant_a.email, tenant_a.password)
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/pipeline").text)
    url = f"/t/{tenant_a.slug}/deals/{deal['id']}/move"
    json_headers = {"Accept": "application/json"}
    moved = client.post(url, data={"csrf_token": token, "stage_id": stages["Won"]}, headers=json_headers)
    assert moved.status_code == 200 and moved.get_json()["status"] == "won"
    refused = client.post(url, data={"csrf_token": token, "stage_id": stages["Lost"]}, headers=json_headers)
    assert refused.status_code == 422 and "lost_reason" in refused.get_json()["errors"]
    no_token = client.post(url, data={"stage_id": stages["Proposal"]}, headers=json_headers)
    assert no_token.status_code == 400
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()["status"] == "won"


def test_deal_amounts_are_exact_decimals(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        from saas.modules.sfa.deals import deals

        deal = deals.create(session, {"name": "Cents", "amount": Decimal("0.10") + Decimal("0.20")})
        assert deal.amount == Decimal("0.30")


def test_a_move_answers_the_whole_deal_custom_fields_included(client, tenant_a, headers):
    defined = client.post(
        "/api/v1/custom-fields",
        json={"entity": "deals", "key": "region", "label": "Region", "field_type": "text"},
        headers=headers,
    )
    assert defined.status_code == 201, defined.get_json()
    deal = create_deal(client, headers, name="Scanners", custom_fields={"region": "North"})
    moved = client.post(
        f"/api/v1/deals/{deal['id']}/move",
        json={"stage_id": stage_ids(tenant_a)["Proposal"]},
        headers=headers,
    )
    assert moved.status_code == 200, moved.get_json()
    read = client.get(f"/api/v1/deals/{deal['id']}", headers=headers).get_json()
    assert moved.get_json()["custom_fields"] == read["custom_fields"] == {"region": "North"}
    assert moved.get_json() == read
