"""Contact scores: rule points from a contact's fields, logged activities, website visits and email
engagement (the last two only while their module is on), stored by one UPDATE that leaves unchanged
contacts (and everyone's ``updated_at``) alone; shown, sorted and filtered in the contacts list and API,
tested by segments and workflow conditions, in the person's own data; one workspace's scores never count
or show another's data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.modules.core import privacy, scoring
from saas.modules.core.models import Activity, Contact
from saas.modules.core.services import accounts, contacts
from saas.modules.marketing import segments
from saas.modules.marketing.models import Campaign, CampaignRecipient
from saas.modules.registry import DataSubject
from saas.modules.sfa.models import Task
from saas.modules.switches import set_module_enabled
from saas.modules.website.models import WebsitePageView, WebsiteVisitor
from saas.modules.workflows.runs import advance_due
from tests.conftest import bearer, login, make_token, other_workspaces_set_aside
from tests.modules.workflows.conftest import make_workflow

NOW = datetime.now(UTC)
FULL_FACTORS = {"has_phone": 15, "has_account": 15, "has_title": 10, "activities": 30, "website_visits": 10,
                "email_engagement": 10}  # fmt: skip


def _engaged_contact(session, name: str = "Full") -> uuid.UUID:
    """Phone, job title and account; four calls and notes this month, one 100 days ago and a system entry
    (neither counts); two website visits this month and one 40 days ago; a campaign email opened and
    clicked this month. 15 + 15 + 10 + 30 (capped) + 10 + 10 = 90 points."""
    account = accounts.create(session, {"name": f"{name} Ltd"})
    contact = contacts.create(
        session,
        {"first_name": name, "last_name": "Person", "phone": "+49 30 1234567", "title": "CTO",
         "account_id": account.id},
    )  # fmt: skip
    for days, kind in ((1, "call"), (2, "note"), (3, "note"), (4, "email"), (100, "call"), (1, "system")):
        session.add(Activity(kind=kind, subject="Talked", contact_id=contact.id,
                             occurred_at=NOW - timedelta(days=days)))  # fmt: skip
    visitor = WebsiteVisitor(id=uuid.uuid4(), contact_id=contact.id)
    session.add(visitor)
    session.flush()
    for days in (2, 2, 5, 40):  # the first two views are one session
        session_id = uuid.UUID(int=days)
        session.add(WebsitePageView(visitor_id=visitor.id, session_id=session_id, path="/pricing",
                                    occurred_at=NOW - timedelta(days=days)))  # fmt: skip
    campaign = Campaign(name="Spring", subject="S", status="sent")
    session.add(campaign)
    session.flush()
    session.add(CampaignRecipient(campaign_id=campaign.id, contact_id=contact.id, email="x@example.org",
                                  status="sent", opened_at=NOW - timedelta(days=3),
                                  clicked_at=NOW - timedelta(days=3)))  # fmt: skip
    session.flush()
    return contact.id


def _scores(session) -> dict[str, tuple[int | None, dict | None]]:
    session.expire_all()
    return {c.first_name: (c.rule_score, c.score_factors) for c in session.scalars(select(Contact))}


def test_points_come_from_fields_activities_visits_and_email_engagement_and_follow_module_switches(
    tenant_a,
):
    with tenant_session(tenant_a.ref) as session:
        _engaged_contact(session)
        contacts.create(session, {"first_name": "Bare"})
        session.commit()
        before = {c.first_name: c.updated_at for c in session.scalars(select(Contact))}
        assert scoring.score_contacts(session) == 2
        assert _scores(session) == {"Full": (90, FULL_FACTORS), "Bare": (0, {})}
        assert scoring.score_contacts(session) == 0  # nothing changed: nothing written
        assert {c.first_name: c.updated_at for c in session.scalars(select(Contact))} == before
        session.commit()
    set_module_enabled(db.session, tenant_a.tenant.id, "website", False, actor="test")
    db.session.commit()
    with tenant_session(tenant_a.ref) as session:
        assert scoring.score_contacts(session) == 1
        factors = {k: v for k, v in FULL_FACTORS.items() if k != "website_visits"}
        assert _scores(session)["Full"] == (80, factors)


def test_the_hourly_job_scores_each_workspace_from_its_own_data_only(tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        _engaged_contact(session)
        session.commit()
    with tenant_session(tenant_b.ref) as session:
        contacts.create(session, {"first_name": "Lone", "title": "CEO"})
        session.commit()
    with other_workspaces_set_aside(tenant_a, tenant_b):  # other tests' workspaces, some left mid-history
        report = scoring.score_all_workspaces()
    assert report["contacts"] >= 2 and not report["failed"]
    with tenant_session(tenant_a.ref) as session:
        assert _scores(session) == {"Full": (90, FULL_FACTORS)}
    with tenant_session(tenant_b.ref) as session:
        assert _scores(session) == {"Lone": (10, {"has_title": 10})}


def _scored(fixture, scores: dict[str, int | None]) -> dict[str, uuid.UUID]:
    """Contacts named by ``scores``' keys with their points stored as the scoring job stores them."""
    with tenant_session(fixture.ref) as session:
        ids = {name: contacts.create(session, {"first_name": name, "last_name": "S"}).id for name in scores}
        session.execute(
            update(Contact), [{"id": ids[name], "rule_score": points} for name, points in scores.items()]
        )
        session.commit()
        return ids


# Names no random CSP nonce or slug on the page will contain (a nonce once held "Cy").
SCORES = {"Adalind": 70, "Boberto": 40, "Cyrena": 55, "Deeanne": None}


def _names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [contact["first_name"] for contact in response.get_json()["data"]]


def test_the_api_filters_and_sorts_contacts_by_score_and_refuses_a_bad_floor(client, tenant_a, tenant_b):
    _scored(tenant_a, SCORES)
    _scored(tenant_b, {"Beatrix": 90})
    headers = bearer(make_token(tenant_a))
    assert _names(client.get("/api/v1/contacts?sort=-rule_score", headers=headers)) == [
        "Adalind", "Cyrena", "Boberto", "Deeanne"
    ]  # fmt: skip
    floor = client.get("/api/v1/contacts?min_rule_score=50&sort=rule_score", headers=headers)
    assert _names(floor) == ["Cyrena", "Adalind"]
    assert [c["rule_score"] for c in floor.get_json()["data"]] == [55, 70]
    for bad in ("min_rule_score=101", "min_rule_score=lots"):
        refused = client.get(f"/api/v1/contacts?{bad}", headers=headers)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
        assert "min_rule_score" in str(refused.get_json())
    as_b = bearer(make_token(tenant_b))
    assert _names(client.get("/api/v1/contacts?min_rule_score=0&sort=-rule_score", headers=as_b)) == [
        "Beatrix"
    ]


def test_the_contacts_page_shows_sorts_and_filters_scores_and_says_what_is_wrong(client, tenant_a, tenant_b):
    _scored(tenant_a, SCORES)
    _scored(tenant_b, {"Beatrix": 90})
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts?sort=-rule_score")
    assert page.status_code == 200 and "Score at least" in page.text and "70 points" in page.text
    assert page.text.index("Adalind") < page.text.index("Cyrena") < page.text.index("Boberto")
    floor = client.get(f"/t/{tenant_a.slug}/contacts?min_rule_score=50")
    assert (
        "Adalind" in floor.text
        and "Cyrena" in floor.text
        and "Boberto" not in floor.text
        and "Deeanne" not in floor.text
    )
    assert "Beatrix" not in floor.text
    bad = client.get(f"/t/{tenant_a.slug}/contacts?min_rule_score=lots")
    assert bad.status_code == 422 and "Please correct the filters." in bad.text


def test_segments_hold_contacts_by_score_at_least_or_at_most(tenant_a, tenant_b):
    ids = _scored(tenant_a, SCORES)
    _scored(tenant_b, {"Beatrix": 90})
    with tenant_session(tenant_a.ref) as session:
        rules = [{"field": "contact_score", "op": "at_least", "value": 55}]
        hot = segments.create_segment(session, {"name": "Hot", "rules": rules})
        count, preview = segments.count_and_preview(session, hot)
        assert count == 2 and {c.id for c in preview} == {ids["Adalind"], ids["Cyrena"]}
        # The page sends the number as text; an unscored contact is in neither.
        hot.rules = [{"field": "contact_score", "op": "at_most", "value": "55"}]
        assert {c.id for c in segments.count_and_preview(session, hot)[1]} == {ids["Boberto"], ids["Cyrena"]}
        with pytest.raises(ValidationError) as refused:
            segments.create_segment(session, {"name": "Bad", "rules": [{**rules[0], "value": 101}]})
        assert refused.value.errors == {"rules.0": ["Give a whole number from 0 to 100."]}
    with tenant_session(tenant_b.ref) as session:
        hot = segments.create_segment(session, {"name": "Hot", "rules": rules})
        assert [c.first_name for c in segments.count_and_preview(session, hot)[1]] == ["Beatrix"]


def test_a_workflow_condition_on_the_contact_score_enrols_only_contacts_at_or_above(tenant_a):
    ids = _scored(tenant_a, {"Hot": 60, "Edge": 50, "Cold": 49, "Unscored": None})
    make_workflow(
        tenant_a,
        {"type": "record_updated", "record_type": "contacts", "field": "title"},
        [{"type": "create_task", "title": "Call the hot contact"}],
        conditions=[{"field": "rule_score", "op": "at_least", "value": "50"}],
    )
    with tenant_session(tenant_a.ref) as session:
        for contact_id in ids.values():
            contacts.update(session, contact_id, {"title": "Buyer"})
        session.commit()
        advance_due(session)
        session.commit()
        tasks = set(session.scalars(select(Task.contact_id)))
    assert tasks == {ids["Hot"], ids["Edge"]}


def test_the_persons_own_data_shows_their_score_and_what_earned_it(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        contact_id = _engaged_contact(session)
        scoring.score_contacts(session)
        data = privacy.personal_data(session, DataSubject(contact_id, None))
    assert data["contact"]["rule_score"] == 90 and data["contact"]["score_factors"] == FULL_FACTORS


def test_the_contact_page_shows_the_score_and_its_points_and_no_other_workspace_sees_it(
    client, tenant_a, tenant_b
):
    with tenant_session(tenant_a.ref) as session:
        contact_id = _engaged_contact(session)
        unscored = contacts.create(session, {"first_name": "New"}).id
        scoring.score_contacts(session)
        session.execute(update(Contact).where(Contact.id == unscored).values(rule_score=None))
        session.commit()
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    assert page.status_code == 200 and "90 of 100 points" in page.text
    assert "Website visits in the last 30 days: 10" in page.text and "Phone given: 15" in page.text
    assert "Not scored yet" in client.get(f"/t/{tenant_a.slug}/contacts/{unscored}").text
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_b.slug}/contacts/{contact_id}").status_code == 404
