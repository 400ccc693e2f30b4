"""The ticket list page has what the other record lists have: headers that sort (priority by severity, the
API too, every ticket walked once across ties and empty values), chosen columns incl. a ticket custom field,
saved views (filters, sort and columns) re-opened from the page and the API, its own views (mine,
unassigned, breaching) kept; tenant B never sees A's views or columns; a switched-off service hides them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from saas.auth.services import find_user_by_email
from saas.db import db, tenant_session
from saas.modules.service.models import Ticket
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token, walk_list

PRIORITIES = {"Alpha": "urgent", "Bravo": "low", "Charlie": "normal", "Delta": "high", "Echo": "normal",
              "Foxtrot": "low", "Golf": "normal"}  # fmt: skip
PLANS = {"Alpha": "gold", "Bravo": None, "Charlie": "silver", "Delta": "bronze", "Echo": None,
         "Foxtrot": "gold", "Golf": "tin"}  # fmt: skip

TICKETS = "/api/v1/tickets"


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _me(fixture) -> str:
    return str(find_user_by_email(db.session, fixture.email).id)


@pytest.fixture
def ticket_ids(client, tenant_a, headers) -> dict[str, str]:
    """Seven tickets: priorities with ties, a custom text field ``plan`` (two empty), Alpha and Delta
    assigned to the signed-in owner, the others unassigned."""
    response = client.post(
        "/api/v1/custom-fields",
        json={"entity": "tickets", "key": "plan", "label": "Plan", "field_type": "text"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    ids = {}
    for subject, priority in PRIORITIES.items():
        body = {"subject": subject, "priority": priority, "custom_fields": {"plan": PLANS[subject]}}
        if subject in ("Alpha", "Delta"):
            body["assignee_user_id"] = _me(tenant_a)
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        ids[subject] = response.get_json()["id"]
    return ids


def _headers_of(html: str) -> list[str]:
    cells = re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def _rows_of(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_api_sorts_tickets_by_priority_severity_across_pages_and_ties(client, headers, ticket_ids):
    up = walk_list(client, headers, TICKETS, sort="priority")
    assert [t["priority"] for t in up] == ["low", "low", "normal", "normal", "normal", "high", "urgent"]
    down = walk_list(client, headers, TICKETS, sort="-priority")
    assert [t["priority"] for t in down] == ["urgent", "high", "normal", "normal", "normal", "low", "low"]
    for walked in (up, down):  # ties broken by id: every ticket exactly once, whatever the page boundaries
        assert sorted(t["subject"] for t in walked) == sorted(PRIORITIES)
    by_subject = walk_list(client, headers, TICKETS, sort="-subject")
    assert [t["subject"] for t in by_subject] == sorted(PRIORITIES, reverse=True)
    only_normal = walk_list(client, headers, TICKETS, sort="-priority", priority="normal", q="o")
    assert sorted(t["subject"] for t in only_normal) == ["Echo", "Golf"]


def test_the_api_sorts_by_due_times_with_empty_ones_last(client, tenant_a, headers, ticket_ids):
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    due = {"Alpha": start, "Bravo": start + timedelta(hours=2), "Charlie": start, "Delta": None,
           "Echo": start + timedelta(hours=1), "Foxtrot": None, "Golf": None}  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        for subject, when in due.items():
            session.get(Ticket, uuid.UUID(ticket_ids[subject])).first_response_due_at = when
    up = [t["subject"] for t in walk_list(client, headers, TICKETS, sort="first_response_due_at")]
    assert up[:2] == sorted(["Alpha", "Charlie"], key=lambda s: ticket_ids[s]) and up[2:4] == [
        "Echo",
        "Bravo",
    ]
    assert sorted(up[4:]) == ["Delta", "Foxtrot", "Golf"]
    down = [t["subject"] for t in walk_list(client, headers, TICKETS, sort="-first_response_due_at")]
    assert down[:2] == ["Bravo", "Echo"] and sorted(down[2:4]) == ["Alpha", "Charlie"]
    assert sorted(down[4:]) == ["Delta", "Foxtrot", "Golf"]
    first = client.get("/api/v1/tickets?sort=priority&limit=2", headers=headers).get_json()
    other = client.get(f"/api/v1/tickets?sort=subject&cursor={first['next_cursor']}", headers=headers)
    assert other.status_code == 422 and "cursor" in str(other.get_json())
    bad = client.get("/api/v1/tickets?sort=description", headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "priority" in str(bad.get_json())  # the message names what tickets sort by


def test_the_page_sorts_by_its_headers_and_shows_chosen_columns(client, tenant_a, ticket_ids):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/tickets"
    page = client.get(base).text
    assert _headers_of(page) == ["Subject", "Ref", "Requester", "Status", "Priority", "Assignee", "SLA",
                                 "Next due"]  # fmt: skip
    for offered in ("cf_plan", "first_response_due_at", "channel", "created_at"):  # in the chooser
        assert f'value="{offered}"' in page
    assert f'<a href="{base}?sort=priority">Priority</a>' in page

    page = client.get(f"{base}?sort=-priority").text
    assert 'aria-sort="descending"' in page and "Priority ▼" in _headers_of(page)
    assert [row[4] for row in _rows_of(page)] == [
        "Urgent",
        "High",
        "Normal",
        "Normal",
        "Normal",
        "Low",
        "Low",
    ]
    assert f'<a href="{base}?sort=priority">Priority ▼</a>' in page  # the header now turns the order

    chosen = client.get(f"{base}?columns=subject,cf_plan,priority,no_such_column&sort=cf_plan")
    assert chosen.status_code == 200
    assert _headers_of(chosen.text) == ["Subject", "Plan ▲", "Priority"]
    rows = _rows_of(chosen.text)
    assert [row[1] for row in rows] == ["bronze", "gold", "gold", "silver", "tin", "", ""]
    assert {row[0] for row in rows[-2:]} == {"Bravo", "Echo"}
    assert "columns=subject%2Ccf_plan%2Cpriority" in chosen.text  # header links keep the chosen columns

    repeated = client.get(f"{base}?columns=priority&columns=subject").text  # as the chooser sends them
    assert _headers_of(repeated) == ["Priority", "Subject"]
    # The first column links (after the row's bulk checkbox).
    assert re.search(
        rf'<td>(<input [^>]*> )?<a id="row-[0-9a-f-]+" href="{base}/[0-9a-f-]+">Urgent</a></td>', repeated
    )


def test_the_pages_views_and_filters_keep_working_with_sort_and_columns(client, tenant_a, ticket_ids):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/tickets"
    mine = client.get(f"{base}?view=mine&sort=subject&columns=subject,assignee").text
    assert [row[0] for row in _rows_of(mine)] == ["Alpha", "Delta"]
    unassigned = client.get(f"{base}?view=unassigned&sort=-priority&priority=normal&columns=subject").text
    assert sorted(row[0] for row in _rows_of(unassigned)) == ["Charlie", "Echo", "Golf"]
    # The view links keep the order and the columns; the filter form keeps them too.
    assert f'href="{base}?view=mine&amp;sort=-priority&amp;columns=subject"' in unassigned
    assert '<input type="hidden" name="sort" value="-priority">' in unassigned
    assert '<input type="hidden" name="columns" value="subject">' in unassigned
    by_plan = client.get(f"{base}?cf_plan=gold&sort=-subject&columns=subject").text
    assert [row[0] for row in _rows_of(by_plan)] == ["Foxtrot", "Alpha"]

    # The page's "next" links walk every ticket once in the chosen order, columns kept.
    url, rows = f"{base}?sort=priority&columns=subject,priority&limit=3", []
    while url:
        page = client.get(url.replace("&amp;", "&")).text
        assert _headers_of(page) == ["Subject", "Priority ▲"]
        rows += _rows_of(page)
        url = (re.search(r'<a rel="next" href="([^"]+)"', page) or [None, None])[1]
    assert [row[1] for row in rows] == ["Low", "Low", "Normal", "Normal", "Normal", "High", "Urgent"]
    assert sorted(row[0] for row in rows) == sorted(PRIORITIES)


def test_a_bad_sort_is_a_422_message_on_the_page(client, tenant_a, ticket_ids):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/tickets"
    for sort, said in (("shoe_size", "Unknown sort"), ("-description", "Unknown sort"),
                       ("cf_nope", "Unknown custom field")):  # fmt: skip
        response = client.get(f"{base}?sort={sort}&view=mine")
        assert response.status_code == 422, sort
        alert = re.search(r'<p class="form-error" role="alert">(.*?)</p>', response.text, re.S).group(1)
        assert said in alert and "No tickets here." in response.text
    # What the list sorts by is named, custom fields included.
    named = client.get(f"{base}?sort=x").text
    assert "sort by subject, status, priority, created_at" in named and "cf_plan" in named


def test_a_saved_view_keeps_filters_sort_and_columns_and_reopens_from_page_and_api(
    client, tenant_a, headers, ticket_ids
):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    query = "view=unassigned&q=&status=&priority=normal&sort=-cf_plan&columns=subject&columns=cf_plan"
    page = client.get(f"{base}/tickets?{query}")
    assert page.status_code == 200, page.text
    assert 'name="entity" value="tickets"' in page.text
    assert 'name="list_endpoint" value="service.list_tickets"' in page.text
    saved = client.post(
        f"{base}/saved-views",
        data={"csrf_token": csrf_token_from(page.text), "entity": "tickets",
              "list_endpoint": "service.list_tickets", "name": "Normal by plan", "query": f"{query}&cursor=x",
              "shared": "on"},
    )  # fmt: skip
    assert saved.status_code == 303
    location = saved.headers["Location"]
    assert location.endswith(
        "/tickets?priority=normal&sort=-cf_plan&view=unassigned&columns=subject,cf_plan"
    ), location

    listing = client.get(f"{base}/tickets").text
    link = re.search(r'<a href="([^"]*/tickets\?[^"]*)">Normal by plan</a> \(shared\)', listing)
    assert link, "the view is listed on the ticket page"
    reopened = client.get(link.group(1).replace("&amp;", "&")).text
    assert _headers_of(reopened) == ["Subject", "Plan ▼"]
    assert _rows_of(reopened) == [["Golf", "tin"], ["Charlie", "silver"], ["Echo", ""]]
    assert "Normal by plan" not in client.get(f"{base}/contacts").text  # only on its own list

    [view] = client.get("/api/v1/saved-views?entity=tickets", headers=headers).get_json()["data"]
    assert view["query"] == {"priority": "normal", "sort": "-cf_plan", "view": "unassigned"}
    assert view["columns"] == ["subject", "cf_plan"] and view["shared"] is True
    by_api = client.get(f"/api/v1/tickets?{view['query_string']}", headers=headers).get_json()["data"]
    assert [t["subject"] for t in by_api] == ["Golf", "Charlie", "Echo"]

    # Saved by the API with columns, it opens the page with them.
    made = client.post(
        "/api/v1/saved-views",
        json={"entity": "tickets", "name": "Due first", "query": {"sort": "resolution_due_at"},
              "columns": ["resolution_due_at", "subject"]},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    listing = client.get(f"{base}/tickets").text
    assert re.search(
        r'href="[^"]*/tickets\?sort=resolution_due_at&amp;columns=resolution_due_at,subject">Due first</a>',
        listing,
    )
    refused = client.post(
        "/api/v1/saved-views",
        json={"entity": "tickets", "name": "X", "query": {}, "columns": ["subject", "cf_nope"]},
        headers=headers,
    )
    assert refused.status_code == 422 and "cf_nope" in str(refused.get_json())

    # Deleted from the ticket page, back on the ticket page.
    deleted = client.post(
        f"{base}/saved-views/{view['id']}/delete",
        data={"csrf_token": csrf_token_from(listing), "list_endpoint": "service.list_tickets"},
    )
    assert deleted.status_code == 303 and deleted.headers["Location"].endswith("/tickets")
    names = [v["name"] for v in client.get("/api/v1/saved-views", headers=headers).get_json()["data"]]
    assert names == ["Due first"]


def test_a_view_the_ticket_list_refuses_says_so_on_the_page(client, tenant_a, ticket_ids):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/tickets")
    saved = client.post(
        f"{base}/saved-views",
        data={"csrf_token": csrf_token_from(page.text), "entity": "tickets",
              "list_endpoint": "service.list_tickets", "name": "Bad", "query": "sort=shoe_size"},
    )  # fmt: skip
    assert saved.status_code == 303 and "/tickets?sort=shoe_size" in saved.headers["Location"]
    shown = client.get(saved.headers["Location"])
    assert "The view was not saved." in shown.text and shown.status_code == 422


def test_tenant_b_never_sees_tenant_a_ticket_views_or_columns(
    client, tenant_a, tenant_b, headers, ticket_ids
):
    view = client.post(
        "/api/v1/saved-views",
        json={"entity": "tickets", "name": "A's secret view", "query": {"sort": "cf_plan"},
              "columns": ["subject", "cf_plan"], "shared": True},
        headers=headers,
    ).get_json()  # fmt: skip
    b_headers = bearer(make_token(tenant_b))
    assert client.post("/api/v1/tickets", json={"subject": "B only"}, headers=b_headers).status_code == 201
    assert client.get("/api/v1/saved-views?entity=tickets", headers=b_headers).get_json()["data"] == []
    assert client.get("/api/v1/tickets?sort=cf_plan", headers=b_headers).status_code == 422
    refused = client.post(
        "/api/v1/saved-views",
        json={"entity": "tickets", "name": "Copy", "query": {}, "columns": ["cf_plan"]},
        headers=b_headers,
    )
    assert refused.status_code == 422

    login(client, tenant_b.email, tenant_b.password)
    base_b = f"/t/{tenant_b.slug}"
    page = client.get(f"{base_b}/tickets?columns=subject,cf_plan").text
    assert "A's secret view" not in page and 'value="cf_plan"' not in page
    assert _headers_of(page) == ["Subject"] and _rows_of(page) == [["B only"]]
    deleted = client.post(
        f"{base_b}/saved-views/{view['id']}/delete",
        data={"csrf_token": csrf_token_from(page), "list_endpoint": "service.list_tickets"},
    )
    assert deleted.status_code == 404
    # A's page under B's session is B's (the workspace in the URL must be the member's).
    assert client.get(f"/t/{tenant_a.slug}/tickets?columns=cf_plan").status_code == 404
    assert [v["id"] for v in client.get("/api/v1/saved-views", headers=headers).get_json()["data"]] == [
        view["id"]
    ]


def test_ticket_views_are_hidden_while_the_service_is_off_and_come_back(client, tenant_a, headers):
    view = client.post(
        "/api/v1/saved-views",
        json={"entity": "tickets", "name": "Urgent", "query": {"sort": "-priority"}, "columns": ["priority"]},
        headers=headers,
    ).get_json()
    contacts = client.post(
        "/api/v1/saved-views", json={"entity": "contacts", "name": "People", "query": {}}, headers=headers
    ).get_json()
    set_module_enabled(db.session, tenant_a.tenant.id, "service", False, actor="test")
    db.session.commit()
    listed = client.get("/api/v1/saved-views", headers=headers).get_json()["data"]
    assert [v["id"] for v in listed] == [contacts["id"]]
    again = client.post(
        "/api/v1/saved-views", json={"entity": "tickets", "name": "U", "query": {}}, headers=headers
    )
    assert again.status_code == 404 and again.get_json()["title"] == "Module switched off"
    login(client, tenant_a.email, tenant_a.password)
    assert client.get(f"/t/{tenant_a.slug}/tickets?sort=-priority").status_code == 404

    set_module_enabled(db.session, tenant_a.tenant.id, "service", True, actor="test")
    db.session.commit()
    listed = client.get("/api/v1/saved-views?entity=tickets", headers=headers).get_json()["data"]
    assert [v["id"] for v in listed] == [view["id"]] and listed[0]["columns"] == ["priority"]
    assert "Urgent" in client.get(f"/t/{tenant_a.slug}/tickets").text
