"""Tasks and activities: tasks by due date with assignees, logged activities, and the timeline of a contact
or account that shows everything about them across modules, newest first."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select

from saas.auth.services import add_member, find_user_by_email
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.activities import activities
from saas.modules.core.models import Activity
from saas.modules.sfa.models import Task
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token

UNKNOWN = "7f1d3f62-5a6b-4a8e-9f00-000000000000"


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


@pytest.fixture
def people(tenant_a):
    """An account with two contacts, and a deal on the account with the first contact."""
    with tenant_session(tenant_a.ref) as session:
        account = services.accounts.create(session, {"name": "Initech"})
        peter = services.contacts.create(session, {"last_name": "Gibbons", "account_id": account.id})
        milton = services.contacts.create(session, {"last_name": "Waddams", "account_id": account.id})
        from saas.modules.sfa.deals import deals

        deal = deals.create(
            session, {"name": "Staplers", "account_id": account.id, "contact_ids": [peter.id]}
        )
        return {
            "account": str(account.id),
            "peter": str(peter.id),
            "milton": str(milton.id),
            "deal": str(deal.id),
        }


def count(fixture, model) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model))


def refused_without_writing(client, fixture, method, url, headers, cases, model) -> None:
    """Every ``(body, field)`` case gets a 422 problem naming ``field``, and ``model`` keeps its rows."""
    before = count(fixture, model)
    for body, field in cases:
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert count(fixture, model) == before


# Tasks


def test_tasks_default_to_their_creator_and_list_by_due_date_undated_last(client, tenant_a, headers, people):
    for title, due in [
        ("later", "2031-03-01T09:00:00Z"),
        ("whenever", None),
        ("soon", "2031-01-01T09:00:00+01:00"),
    ]:
        body = {"title": title, "due_at": due, "deal_id": people["deal"]}
        created = client.post("/api/v1/tasks", json=body, headers=headers)
        assert created.status_code == 201, created.get_json()
    task = created.get_json()
    assert task["assignee_user_id"] == str(find_user_by_email(db.session, tenant_a.email).id)
    assert task["due_at"].startswith("2031-01-01T08:00:00")  # stored in UTC
    listed = client.get("/api/v1/tasks?limit=2", headers=headers).get_json()
    rest = client.get(f"/api/v1/tasks?limit=2&cursor={listed['next_cursor']}", headers=headers).get_json()
    assert [t["title"] for t in listed["data"] + rest["data"]] == ["soon", "later", "whenever"]
    assert rest["next_cursor"] is None
    assert (
        len(
            client.get(f"/api/v1/tasks?deal_id={people['deal']}&status=open", headers=headers).get_json()[
                "data"
            ]
        )
        == 3
    )


def test_finishing_a_task_stamps_it_and_tells_the_timeline(client, tenant_a, headers, people):
    member = add_member(
        db.session, tenant_a.tenant.id, f"m-{tenant_a.slug}@example.com", PASSWORD, "member", actor="t"
    )
    db.session.commit()
    task = client.post(
        "/api/v1/tasks",
        json={"title": "Send offer", "assignee_user_id": str(member.user_id), "deal_id": people["deal"]},
        headers=headers,
    ).get_json()
    assert client.get(f"/api/v1/tasks?assignee_user_id={member.user_id}", headers=headers).get_json()["data"]
    done = client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"}, headers=headers).get_json()
    assert done["status"] == "done" and done["done_at"]
    timeline = client.get(f"/api/v1/activities?contact_id={people['peter']}", headers=headers).get_json()[
        "data"
    ]
    assert timeline[0]["subject"] == "Task done: Send offer"
    reopened = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "open"}, headers=headers
    ).get_json()
    assert reopened["done_at"] is None
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 204


def test_bad_tasks_are_refused_and_nothing_written(client, tenant_a, headers, people):
    cases = [
        ({}, "title"), ({"title": ""}, "title"), ({"title": "x" * 201}, "title"),
        ({"title": "t", "due_at": "tomorrow"}, "due_at"), ({"title": "t", "status": "later"}, "status"),
        ({"title": "t", "assignee_user_id": UNKNOWN}, "assignee_user_id"),
        ({"title": "t", "contact_id": UNKNOWN}, "contact_id"),
        ({"title": "t", "account_id": UNKNOWN}, "account_id"),
        ({"title": "t", "deal_id": UNKNOWN}, "deal_id"), ({"title": "t", "deal_id": "x"}, "deal_id"),
        ({"title": "t", "priority": 1}, "priority"),
    ]  # fmt: skip
    refused_without_writing(client, tenant_a, "post", "/api/v1/tasks", headers, cases, Task)
    task = client.post("/api/v1/tasks", json={"title": "Stable"}, headers=headers).get_json()
    url = f"/api/v1/tasks/{task['id']}"
    refused_without_writing(client, tenant_a, "patch", url, headers, cases[1:], Task)
    assert client.get(url, headers=headers).get_json()["title"] == "Stable"


def test_task_pages_create_filter_and_finish(client, tenant_a, people):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/tasks/new?deal_id={people['deal']}")
    assert form.status_code == 200
    assert re.search(rf'<option value="{people["deal"]}" selected>Staplers</option>', form.text)
    token = csrf_token_from(form.text)
    bad = client.post(
        f"{base}/tasks/new", data={"csrf_token": token, "title": "", "due_at": "2031-01-01T10:00"}
    )
    assert bad.status_code == 422 and 'id="title-error"' in bad.text and count(tenant_a, Task) == 0
    created = client.post(
        f"{base}/tasks/new",
        data={"csrf_token": token, "title": "Call back", "due_at": "2031-01-01T10:00", "status": "open",
              "assignee_user_id": "", "contact_id": "", "account_id": "", "deal_id": people["deal"],
              "notes": ""},
    )  # fmt: skip
    assert created.status_code == 302, created.text
    detail = client.get(created.headers["Location"])
    due = format_datetime(datetime(2031, 1, 1, 10, 0, tzinfo=UTC), "short", tzinfo=UTC, locale="en")
    assert "Call back" in detail.text and due in detail.text and "Staplers" in detail.text
    assert "Call back" in client.get(f"{base}/tasks?status=open").text
    assert "Call back" not in client.get(f"{base}/tasks?status=done").text
    edit = client.get(created.headers["Location"] + "/edit")
    assert 'value="2031-01-01T10:00"' in edit.text


# Activities and the timeline


def test_timeline_shows_everything_about_a_contact_newest_first(client, tenant_a, headers, people):
    stamps = ["2031-01-03T10:00:00Z", "2031-01-01T10:00:00Z", "2031-01-02T10:00:00Z"]
    for kind, stamp in zip(("call", "note", "meeting"), stamps, strict=True):
        logged = client.post(
            "/api/v1/activities",
            json={
                "kind": kind,
                "subject": f"{kind} with Peter",
                "occurred_at": stamp,
                "contact_id": people["peter"],
            },
            headers=headers,
        )
        assert logged.status_code == 201, logged.get_json()
        assert logged.get_json()["account_id"] == people["account"]  # the contact's account sees it too
    client.post(
        "/api/v1/activities",
        json={"kind": "email", "subject": "Quote sent", "occurred_at": "2031-01-04T00:00:00Z",
              "deal_id": people["deal"]},
        headers=headers,
    )  # fmt: skip
    client.post(
        "/api/v1/activities",
        json={"kind": "note", "subject": "About Milton", "occurred_at": "2031-01-05T00:00:00Z",
              "contact_id": people["milton"]},
        headers=headers,
    )  # fmt: skip

    def subjects(query: str) -> list[str]:
        rows = client.get(f"/api/v1/activities?{query}", headers=headers).get_json()["data"]
        return [row["subject"] for row in rows]

    # Peter: his own entries and the deal he is on (the email, and the deal's opening); not Milton's note.
    peter = subjects(f"contact_id={people['peter']}")
    assert peter[:4] == ["Quote sent", "call with Peter", "meeting with Peter", "note with Peter"]
    assert set(peter[4:]) == {"Deal opened: Staplers", "Contact added to deal Staplers"}
    # The account sees its people and its deals, Milton included.
    account = subjects(f"account_id={people['account']}")
    assert account[:5] == [
        "About Milton",
        "Quote sent",
        "call with Peter",
        "meeting with Peter",
        "note with Peter",
    ]
    assert subjects(f"deal_id={people['deal']}")[0] == "Quote sent"
    # Pages of two run through the whole timeline once, in order.
    seen, cursor = [], ""
    while True:
        page = client.get(
            f"/api/v1/activities?contact_id={people['peter']}&limit=2{cursor}", headers=headers
        ).get_json()
        seen += [row["subject"] for row in page["data"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == peter


def test_timeline_order_of_events_in_one_transaction(tenant_a, people):
    """System entries of one request keep the order they happened in (not the transaction's clock)."""
    from saas.modules.sfa.deals import deals

    with tenant_session(tenant_a.ref) as session:
        stages = {s.name: s.id for s in deals.get(session, people["deal"]).pipeline.stages}
        for stage in ("Qualification", "Proposal", "Won"):
            deals.move(session, people["deal"], stages[stage])
        entries = activities.list(session, account_id=people["account"]).data
    assert [entry.subject for entry in entries[:3]] == [
        "Deal won: Staplers",
        "Deal moved: Staplers",
        "Deal moved: Staplers",
    ]
    assert [entry.body.split(";")[0] for entry in entries[:3]] == [
        "From Proposal to Won", "From Qualification to Proposal", "From Prospecting to Qualification",
    ]  # fmt: skip
    assert all(a.occurred_at > b.occurred_at for a, b in itertools.pairwise(entries))


def test_system_entries_cannot_be_changed_or_removed(client, tenant_a, headers, people):
    entry = client.get(
        f"/api/v1/activities?deal_id={people['deal']}&kind=system", headers=headers
    ).get_json()["data"][0]
    url = f"/api/v1/activities/{entry['id']}"
    assert client.patch(url, json={"subject": "rewritten"}, headers=headers).status_code == 409
    assert client.delete(url, headers=headers).status_code == 409
    assert client.get(url, headers=headers).get_json()["subject"] == entry["subject"]


def test_logged_activities_can_be_corrected_and_removed(client, tenant_a, headers, people):
    logged = client.post(
        "/api/v1/activities",
        json={"kind": "call", "subject": "Call", "account_id": people["account"]},
        headers=headers,
    ).get_json()
    assert logged["actor_user_id"] == str(find_user_by_email(db.session, tenant_a.email).id)
    url = f"/api/v1/activities/{logged['id']}"
    fixed = client.patch(
        url, json={"subject": "Call about renewal", "deal_id": people["deal"]}, headers=headers
    )
    assert (
        fixed.get_json()["subject"] == "Call about renewal" and fixed.get_json()["deal_id"] == people["deal"]
    )
    assert client.delete(url, headers=headers).status_code == 204


def test_bad_activities_are_refused_and_nothing_written(client, tenant_a, headers, people):
    on = {"contact_id": people["peter"]}
    cases = [
        ({**on, "subject": "s"}, "kind"), ({**on, "kind": "system", "subject": "s"}, "kind"),
        ({**on, "kind": "fax", "subject": "s"}, "kind"), ({**on, "kind": "note"}, "subject"),
        ({**on, "kind": "note", "subject": "x" * 201}, "subject"),
        ({**on, "kind": "note", "subject": "s", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "note", "subject": "s", "contact_id": UNKNOWN}, "contact_id"),
        ({"kind": "note", "subject": "s", "account_id": UNKNOWN}, "account_id"),
        ({"kind": "note", "subject": "s", "deal_id": UNKNOWN}, "deal_id"),
        ({"kind": "note", "subject": "s"}, "contact_id"),  # on nobody's timeline
        ({**on, "kind": "note", "subject": "s", "subject_type": "ticket"}, "subject_type"),
    ]  # fmt: skip
    refused_without_writing(client, tenant_a, "post", "/api/v1/activities", headers, cases, Activity)
    logged = client.post(
        "/api/v1/activities", json={**on, "kind": "note", "subject": "Kept"}, headers=headers
    )
    url = f"/api/v1/activities/{logged.get_json()['id']}"
    changes = [(body, field) for body, field in cases if field not in ("kind", "subject", "contact_id")]
    changes += [
        ({"kind": "system"}, "kind"),
        ({"subject": ""}, "subject"),
        ({"contact_id": UNKNOWN}, "contact_id"),
    ]
    refused_without_writing(client, tenant_a, "patch", url, headers, changes, Activity)
    assert client.get(url, headers=headers).get_json()["subject"] == "Kept"


def test_contact_page_shows_the_timeline_and_logs_an_activity(client, tenant_a, people):
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/contacts/{people['peter']}"
    page = client.get(url)
    assert page.status_code == 200 and 'id="timeline"' in page.text
    assert "Deal opened: Staplers" in page.text  # the deal's history, on the contact's page
    token = csrf_token_from(page.text)
    before = count(tenant_a, Activity)
    bad = client.post(f"{url}/activities", data={"csrf_token": token, "kind": "call", "subject": ""})
    assert bad.status_code == 422 and 'id="activity-subject-error"' in bad.text
    assert count(tenant_a, Activity) == before
    logged = client.post(
        f"{url}/activities",
        data={"csrf_token": token, "kind": "meeting", "subject": "Lunch", "body": "Talked printers",
              "occurred_at": "2031-02-01T12:30"},
    )  # fmt: skip
    assert logged.status_code == 302 and logged.headers["Location"].endswith("#timeline")
    page = client.get(url).text
    assert page.index("Lunch") < page.index("Deal opened: Staplers")  # newest first
    assert "2031-02-01 12:30 UTC" in page and f"by {tenant_a.email}" in page
    account_page = client.get(f"/t/{tenant_a.slug}/accounts/{people['account']}").text
    assert "Lunch" in account_page and "Deal opened: Staplers" in account_page


def test_deal_page_logs_an_activity_on_the_deal(client, tenant_a, people):
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/deals/{people['deal']}"
    token = csrf_token_from(client.get(url).text)
    logged = client.post(
        f"{url}/activities", data={"csrf_token": token, "kind": "email", "subject": "Offer sent"}
    )
    assert logged.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        entry = session.scalar(select(Activity).where(Activity.subject == "Offer sent"))
        assert (entry.subject_type, str(entry.subject_id), str(entry.account_id)) == (
            "deal", people["deal"], people["account"],
        )  # fmt: skip
        assert entry.occurred_at <= datetime.now(UTC)
    # Peter is on the deal, so the email is on his timeline; Milton is not.
    assert "Offer sent" in client.get(f"/t/{tenant_a.slug}/contacts/{people['peter']}").text
    assert "Offer sent" not in client.get(f"/t/{tenant_a.slug}/contacts/{people['milton']}").text
