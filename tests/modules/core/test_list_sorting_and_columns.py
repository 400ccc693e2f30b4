"""Lists sorted by a column or a custom field (API and pages, every record walked once, empty values last),
visible columns chosen on the page and kept in saved views, and likely duplicates flagged in the list."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.conftest import bearer, csrf_token_from, login, make_token, walk_list


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _post(client, headers, path, body):
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def scored_contacts(client, headers):
    """Seven contacts with a custom number ``score``: four distinct values, a tie, and two left empty."""
    _post(client, headers, "/api/v1/custom-fields",
          {"entity": "contacts", "key": "score", "label": "Score", "field_type": "number"})  # fmt: skip
    scores = {"Ada": 30, "Bo": None, "Cy": 10, "Di": 30, "Ed": None, "Fay": 20, "Gus": 5}
    for name, score in scores.items():
        _post(client, headers, "/api/v1/contacts",
              {"last_name": name, "email": f"{name.lower()}@example.org",
               "title": None if name in ("Bo", "Cy") else f"{name} title",
               "custom_fields": {"score": score}})  # fmt: skip
    return scores


def test_a_custom_field_orders_the_api_list_both_ways_with_empty_values_last(
    client, headers, scored_contacts
):
    up = walk_list(client, headers, "/api/v1/contacts", sort="cf_score")
    assert [c["custom_fields"]["score"] for c in up] == ["5", "10", "20", "30", "30", None, None]
    down = walk_list(client, headers, "/api/v1/contacts", sort="-cf_score")
    assert [c["custom_fields"]["score"] for c in down] == ["30", "30", "20", "10", "5", None, None]
    for walked in (up, down):  # every contact exactly once, whatever page boundaries fall on
        assert sorted(c["last_name"] for c in walked) == sorted(scored_contacts)


def test_built_in_columns_sort_and_combine_with_filters(client, headers, scored_contacts):
    by_title = walk_list(client, headers, "/api/v1/contacts", sort="-title")
    assert [c["last_name"] for c in by_title][:5] == ["Gus", "Fay", "Ed", "Di", "Ada"]
    assert {c["last_name"] for c in by_title[5:]} == {"Bo", "Cy"}
    filtered = walk_list(client, headers, "/api/v1/contacts", sort="email", cf_score="30")
    assert [c["last_name"] for c in filtered] == ["Ada", "Di"]
    # Searches match words from their start (t0013): "ex" starts every contact's email domain.
    searched = walk_list(client, headers, "/api/v1/contacts", sort="-created_at", q="ex")
    assert [c["last_name"] for c in searched] == ["Gus", "Fay", "Ed", "Di", "Cy", "Bo", "Ada"]


def test_deals_sort_by_amount(client, headers):
    for name, amount in (("Small", "10.00"), ("Big", "900.00"), ("Mid", "55.50")):
        _post(client, headers, "/api/v1/deals", {"name": name, "amount": amount, "currency": "EUR"})
    names = [d["name"] for d in walk_list(client, headers, "/api/v1/deals", sort="-amount")]
    assert names == ["Big", "Mid", "Small"]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "shoe_size"},
        {"sort": "cf_nope"},
        {"sort": "-cf_tags"},  # a multi select has no order
        {"sort": "notes"},  # a column, but not one a list is sorted by
    ],
)
def test_bad_sorts_are_422_problems(client, headers, params):
    _post(client, headers, "/api/v1/custom-fields",
          {"entity": "contacts", "key": "tags", "label": "Tags", "field_type": "multi_select",
           "options": ["vip"]})  # fmt: skip
    response = client.get(f"/api/v1/contacts?{urlencode(params)}", headers=headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "sort" in str(response.get_json())


def test_a_cursor_of_one_order_is_refused_by_another(client, headers, scored_contacts):
    first = client.get("/api/v1/contacts?sort=cf_score&limit=2", headers=headers).get_json()
    assert first["next_cursor"]
    for other in ("-cf_score", "email", None):
        query = {"limit": 2, "cursor": first["next_cursor"], **({"sort": other} if other else {})}
        response = client.get(f"/api/v1/contacts?{urlencode(query)}", headers=headers)
        assert response.status_code == 422, other
        assert "cursor" in str(response.get_json())


def test_another_tenant_cannot_sort_by_a_field_it_does_not_have(client, tenant_b, scored_contacts):
    response = client.get("/api/v1/contacts?sort=cf_score", headers=bearer(make_token(tenant_b)))
    assert response.status_code == 422
    assert "score" in response.get_json()["detail"]


def test_the_list_page_sorts_by_its_headers_and_shows_chosen_columns(client, tenant_a, scored_contacts):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/contacts"
    page = client.get(base).text
    assert "Score" in page and 'value="cf_score"' in page  # offered in the chooser, not shown yet
    assert '<th scope="col"><a href="/t/' in page and "sort=email" in page

    page = client.get(f"{base}?columns=name,cf_score,nothing_like_this&sort=-cf_score").text
    headers = re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", page)
    assert [re.sub(r"<[^>]+>", "", h).strip() for h in headers] == ["Name", "Score ▼"]
    assert 'aria-sort="descending"' in page
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    first_cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    scores = [re.sub(r"<[^>]+>", "", cells[1]).strip() for cells in first_cells]
    assert scores == ["30", "30", "20", "10", "5", "", ""]
    # The ascending link of the header keeps the chosen columns.
    assert "columns=name%2Ccf_score" in page and "sort=cf_score" in page

    chooser = client.get(f"{base}?columns=email&columns=cf_score").text
    heads = [
        re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", chooser)
    ]
    assert heads == ["Email", "Score"]

    bad = client.get(f"{base}?sort=shoe_size")
    assert bad.status_code == 422 and "Unknown sort" in bad.text


def test_a_saved_view_keeps_its_sort_and_columns(client, tenant_a, headers, scored_contacts):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/contacts?sort=-cf_score&columns=name&columns=cf_score")
    saved = client.post(
        f"{base}/saved-views",
        data={"csrf_token": csrf_token_from(page.text), "entity": "contacts",
              "list_endpoint": "core.list_contacts", "name": "Top scores",
              "query": "sort=-cf_score&columns=name&columns=cf_score&cursor=zz"},
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/contacts?sort=-cf_score&columns=name,cf_score")
    view = client.get("/api/v1/saved-views?entity=contacts", headers=headers).get_json()["data"][0]
    assert view["query"] == {"sort": "-cf_score"} and view["columns"] == ["name", "cf_score"]
    ordered = client.get(f"/api/v1/contacts?{view['query_string']}", headers=headers).get_json()["data"]
    assert [c["custom_fields"]["score"] for c in ordered][:2] == ["30", "30"]

    by_api = client.post(
        "/api/v1/saved-views",
        json={
            "entity": "contacts",
            "name": "Emails",
            "query": {"sort": "email"},
            "columns": ["email", "name"],
        },
        headers=headers,
    )
    assert by_api.status_code == 201 and by_api.get_json()["columns"] == ["email", "name"]
    listing = client.get(f"{base}/contacts").text
    assert re.search(r'href="[^"]*/contacts\?sort=email&amp;columns=email,name">Emails</a>', listing)


def test_likely_duplicates_are_flagged_in_the_list_and_not_across_tenants(
    client, tenant_a, tenant_b, headers
):
    for name in ("Kim", "Kimberly"):
        _post(client, headers, "/api/v1/contacts", {"last_name": name, "email": "kim@acme.example.com"})
    _post(client, headers, "/api/v1/contacts", {"last_name": "Lone", "email": "lone@acme.example.com"})
    _post(client, bearer(make_token(tenant_b)), "/api/v1/contacts",
          {"last_name": "Lone", "email": "lone@acme.example.com"})  # fmt: skip
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts").text
    rows = {
        re.sub(r"<[^>]+>", "", re.search(r"<td>(.*?)</td>", row, re.S).group(1))
        .split("possible")[0]
        .strip(): row
        for row in re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    }
    assert set(rows) == {"Kim", "Kimberly", "Lone"}
    assert "possible duplicate" in rows["Kim"] and "possible duplicate" in rows["Kimberly"]
    assert "possible duplicate" not in rows["Lone"]
