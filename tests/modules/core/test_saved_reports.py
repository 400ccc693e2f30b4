"""Report filters (built-in and custom fields) and saved reports: kept for the workspace, pinned to the
dashboard as cards, changed only by their author or an admin, never seen by another workspace."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from saas.auth.services import add_member, create_api_token
from saas.db import db
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


@pytest.fixture
def people(client, headers):
    """Five contacts: titles CEO (2), CTO, none (2); region north (3), south, none."""
    response = client.post(
        "/api/v1/custom-fields",
        json={"entity": "contacts", "key": "region", "label": "Region", "field_type": "single_select",
              "options": ["north", "south"]},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    for name, title, region in (("A", "CEO", "north"), ("B", "CEO", "south"), ("C", "CTO", "north"),
                                ("D", None, "north"), ("E", None, None)):  # fmt: skip
        created = client.post(
            "/api/v1/contacts",
            json={"last_name": name, "title": title, "custom_fields": {"region": region}},
            headers=headers,
        )
        assert created.status_code == 201, created.get_json()


def _report(client, headers, **params) -> list[tuple]:
    response = client.get(f"/api/v1/reports?{urlencode(params)}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(row["group"], row["value"]) for row in response.get_json()["rows"]]


def test_filters_keep_only_matching_records(client, headers, people):
    assert _report(client, headers, entity="contacts", group_by="title") == [
        ("CEO", "2"), (None, "2"), ("CTO", "1")
    ]  # fmt: skip
    north = _report(client, headers, entity="contacts", group_by="title", f_cf_region="north")
    assert north == [("CEO", "1"), ("CTO", "1"), (None, "1")]
    both = _report(
        client, headers, entity="contacts", group_by="cf_region", f_title="CEO", f_cf_region="south"
    )
    assert both == [("south", "1")]
    for bad in ({"f_shoe_size": "9"}, {"f_cf_region": "east"}, {"f_id": "x"}):
        response = client.get(
            f"/api/v1/reports?{urlencode({'entity': 'contacts', 'group_by': 'title', **bad})}",
            headers=headers,
        )
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"


def test_a_saved_report_is_pinned_to_the_dashboard_and_kept_apart(
    client, tenant_a, tenant_b, headers, people
):
    params = {"entity": "contacts", "group_by": "title", "filters": {"cf_region": "north"}}
    saved = client.post(
        "/api/v1/saved-reports", json={"name": "Northern titles", "params": params}, headers=headers
    )
    assert saved.status_code == 201, saved.get_json()
    report = saved.get_json()
    assert report["params"] == {**params, "measure": "count"} and report["pinned"] is False
    pinned = client.patch(f"/api/v1/saved-reports/{report['id']}", json={"pinned": True}, headers=headers)
    assert pinned.status_code == 200 and pinned.get_json()["pinned"] is True

    login(client, tenant_a.email, tenant_a.password)
    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    assert "Northern titles" in dashboard
    link = (
        re.search(r'href="([^"]*/reports\?[^"]*)">Open the report', dashboard).group(1).replace("&amp;", "&")
    )
    opened = client.get(link).text
    assert "f_cf_region=north" in link and "CTO" in opened

    other = bearer(make_token(tenant_b))
    assert client.get("/api/v1/saved-reports", headers=other).get_json()["data"] == []
    assert (
        client.patch(
            f"/api/v1/saved-reports/{report['id']}", json={"pinned": False}, headers=other
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/saved-reports/{report['id']}", headers=other).status_code == 404
    login(client, tenant_b.email, tenant_b.password)
    assert "Northern titles" not in client.get(f"/t/{tenant_b.slug}/").text
    assert "Northern titles" not in client.get(f"/t/{tenant_b.slug}/reports").text


def test_only_the_author_or_an_admin_changes_a_saved_report(client, tenant_a, headers, people):
    report = client.post(
        "/api/v1/saved-reports",
        json={"name": "Titles", "params": {"entity": "contacts", "group_by": "title"}},
        headers=headers,
    ).get_json()
    add_member(db.session, tenant_a.tenant.id, "member@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    _, secret = create_api_token(db.session, tenant_a.slug, "member@example.com", "member")
    db.session.commit()
    member = bearer(secret)
    assert [r["name"] for r in client.get("/api/v1/saved-reports", headers=member).get_json()["data"]] == [
        "Titles"
    ]
    assert (
        client.patch(
            f"/api/v1/saved-reports/{report['id']}", json={"pinned": True}, headers=member
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/saved-reports/{report['id']}", headers=member).status_code == 403
    own = client.post(
        "/api/v1/saved-reports",
        json={"name": "Mine", "params": {"entity": "contacts", "group_by": "title"}},
        headers=member,
    ).get_json()
    assert client.delete(f"/api/v1/saved-reports/{own['id']}", headers=headers).status_code == 204  # an owner


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "params": {"entity": "contacts", "group_by": "title"}},
        {"name": "X", "params": {}},
        {"name": "X", "params": {"entity": "contacts", "group_by": "shoe_size"}},
        {"name": "X", "params": {"entity": ["contacts"], "group_by": "title"}},
        {"name": "X", "params": {"entity": "contacts", "group_by": "title", "filters": {"title": 3}}},
        {"name": "X", "params": {"entity": "contacts", "group_by": "title", "colour": "red"}},
    ],
)
def test_bad_saved_reports_are_refused(client, tenant_a, headers, body):
    response = client.post("/api/v1/saved-reports", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert client.get("/api/v1/saved-reports", headers=headers).get_json()["data"] == []


def test_the_report_page_saves_pins_and_says_when_a_pinned_report_no_longer_runs(
    client, tenant_a, headers, people
):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    query = "entity=contacts&group_by=cf_region&filter_field=title&filter_value=CEO"
    page = client.get(f"{base}/reports?{query}")
    assert page.status_code == 200 and "south" in page.text
    arguments = re.search(r'name="query" value="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert "f_title=CEO" in arguments
    saved = client.post(
        f"{base}/reports/saved",
        data={"csrf_token": csrf_token_from(page.text), "name": "CEOs by region", "query": arguments},
    )
    assert saved.status_code == 303
    listing = client.get(f"{base}/reports").text
    report_id = re.search(r"/reports/saved/([0-9a-f-]{36})/pin", listing).group(1)
    pinned = client.post(
        f"{base}/reports/saved/{report_id}/pin",
        data={"csrf_token": csrf_token_from(listing), "pinned": "1", "query": ""},
    )
    assert pinned.status_code == 303
    assert "CEOs by region" in client.get(f"{base}/").text

    field_id = client.get("/api/v1/custom-fields?entity=contacts", headers=headers).get_json()["data"][0][
        "id"
    ]
    assert client.delete(f"/api/v1/custom-fields/{field_id}", headers=headers).status_code in (200, 204)
    assert client.post(f"/api/v1/custom-fields/{field_id}/purge", headers=headers).status_code in (200, 204)
    dashboard = client.get(f"{base}/")
    assert dashboard.status_code == 200 and "This report no longer runs" in dashboard.text
