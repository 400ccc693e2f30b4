"""Lead scores are usable everywhere: the leads list and API filter by "score at least N" and sort by
either score (unscored leads are in no filtered list), bad floors are refused (422 problem+json on the API,
the page's form message), segments find contacts whose converted lead scored at least N, and none of this
shows one workspace another's leads."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.marketing import segments
from saas.modules.sfa import conversion
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Lead
from tests.conftest import bearer, login, make_token


def _scored(fixture, scores: dict[str, tuple[int | None, int | None]]) -> dict[str, object]:
    """Leads named by ``scores``' keys with (rule points, predicted %) stored as the scoring job does."""
    with tenant_session(fixture.ref) as session:
        ids = {
            name: leads.create(session, {"first_name": name, "email": f"{name.lower()}@example.org"}).id
            for name in scores
        }
        session.execute(
            update(Lead),
            [{"id": ids[n], "rule_score": r, "predicted_score": p} for n, (r, p) in scores.items()],
        )
        return ids


# Names no random CSP nonce or slug on the page will contain (a nonce once held "Cy").
SCORES = {"Adalind": (40, 90), "Boberto": (25, 60), "Cyrena": (10, 75), "Deeanne": (None, None)}


def _names(response) -> list[str]:
    return [lead["first_name"] for lead in response.get_json()["data"]]


def test_api_filters_by_score_floors_and_sorts_by_each_score(client, tenant_a):
    _scored(tenant_a, SCORES)
    headers = bearer(make_token(tenant_a))
    by_rule = client.get("/api/v1/leads?min_rule_score=25&sort=-rule_score", headers=headers)
    assert _names(by_rule) == ["Adalind", "Boberto"]
    assert [(lead["rule_score"], lead["predicted_score"]) for lead in by_rule.get_json()["data"]] == [
        (40, 90), (25, 60)
    ]  # fmt: skip
    by_chance = client.get("/api/v1/leads?min_predicted_score=60&sort=predicted_score", headers=headers)
    assert _names(by_chance) == ["Boberto", "Cyrena", "Adalind"]
    both = client.get("/api/v1/leads?min_rule_score=10&min_predicted_score=70", headers=headers)
    assert sorted(_names(both)) == ["Adalind", "Cyrena"]


@pytest.mark.parametrize("query", ["min_rule_score=101", "min_predicted_score=-1", "min_rule_score=lots"])
def test_api_refuses_a_bad_score_floor_with_a_problem(client, tenant_a, query):
    response = client.get(f"/api/v1/leads?{query}", headers=bearer(make_token(tenant_a)))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert query.split("=")[0] in str(response.get_json())


def test_the_leads_page_filters_and_sorts_by_scores_and_says_what_is_wrong(client, tenant_a):
    _scored(tenant_a, SCORES)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads?min_predicted_score=70&sort=-predicted_score")
    assert page.status_code == 200 and "Predicted chance (%) at least" in page.text
    assert page.text.index("Adalind") < page.text.index("Cyrena") and "Boberto" not in page.text
    shown = client.get(
        f"/t/{tenant_a.slug}/leads?columns=name,rule_score,predicted_score&sort=rule_score&min_rule_score=0"
    )
    assert "Rule points" in shown.text and "Predicted chance" in shown.text
    assert shown.text.index("Cyrena") < shown.text.index("Boberto") < shown.text.index("Adalind")
    assert "Deeanne" not in shown.text  # not scored yet: below every floor
    bad = client.get(f"/t/{tenant_a.slug}/leads?min_rule_score=lots")
    assert bad.status_code == 422 and "Please correct the filters." in bad.text


def test_tenant_b_score_filters_see_none_of_tenant_a_leads(client, tenant_a, tenant_b):
    _scored(tenant_a, SCORES)
    _scored(tenant_b, {"Bea": (5, 5)})
    headers = bearer(make_token(tenant_b))
    response = client.get("/api/v1/leads?min_rule_score=0&sort=-rule_score", headers=headers)
    assert _names(response) == ["Bea"]


def _converted_contact(session, lead_id) -> object:
    lead = session.get(Lead, lead_id)
    lead.status = "qualified"
    session.flush()
    return conversion.convert_lead(session, lead_id).contact.id


def test_a_segment_holds_contacts_whose_converted_lead_scored_at_least_n(tenant_a, tenant_b):
    ids = _scored(tenant_a, SCORES)
    with tenant_session(tenant_a.ref) as session:
        contact = {name: _converted_contact(session, ids[name]) for name in ("Adalind", "Boberto", "Deeanne")}
        rules = [{"field": "lead_score", "op": "rule_score_at_least", "value": 25}]
        segment = segments.create_segment(session, {"name": "Warm", "rules": rules})
        count, preview = segments.count_and_preview(session, segment)
        assert count == 2 and {c.id for c in preview} == {contact["Adalind"], contact["Boberto"]}
        # The page sends the number as text; the same rule on the predicted chance.
        segment.rules = [{"field": "lead_score", "op": "predicted_score_at_least", "value": "61"}]
        assert [c.id for c in segments.count_and_preview(session, segment)[1]] == [contact["Adalind"]]
        with pytest.raises(ValidationError) as refused:
            segments.create_segment(session, {"name": "Bad", "rules": [{**rules[0], "value": 101}]})
        assert refused.value.errors == {"rules.0": ["Give a whole number from 0 to 100."]}
    with tenant_session(tenant_b.ref) as session:
        segment = segments.create_segment(session, {"name": "Warm", "rules": rules})
        assert segments.count_and_preview(session, segment)[0] == 0
