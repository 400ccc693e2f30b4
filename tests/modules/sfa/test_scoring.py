"""Lead scores: rule points from fields and activity; a predicted chance learned from the workspace's own
decided leads, with its factors, only past the stated minimum; two workspaces with opposite histories get
opposite scores for the same kind of lead; the daily job scores each workspace with sales on; the leads
list shows and sorts by the score."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db, tenant_session
from saas.modules.sfa import scoring
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Lead, LeadScoreModel
from saas.modules.switches import set_module_enabled
from tests.conftest import login, other_workspaces_set_aside


def decided(session, *, phone_converts: bool, each: int = 12) -> None:
    """``each`` leads with a phone and ``each`` without; those with one converted (or disqualified)."""
    for index in range(each * 2):
        with_phone = index < each
        converts = with_phone == phone_converts
        lead = leads.create(
            session,
            {"first_name": f"L{index}", "email": f"l{index}@example.org", "company": "Co",
             "phone": "+4930123456" if with_phone else None},
        )  # fmt: skip
        lead.status = "converted" if converts else "disqualified"
    session.flush()


def _fresh(session, **fields) -> Lead:
    return leads.create(session, {"first_name": "New", "email": "new@example.org", **fields})


def test_opposite_histories_give_opposite_predicted_scores(tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        decided(session, phone_converts=True)
        a_lead = _fresh(session, phone="+4930999999").id
        scoring.score_leads(session)
    with tenant_session(tenant_b.ref) as session:
        decided(session, phone_converts=False)
        b_lead = _fresh(session, phone="+4930999999").id
        scoring.score_leads(session)
    with tenant_session(tenant_a.ref) as session:
        a = session.get(Lead, a_lead)
        assert a.predicted_score > 80 and a.score_factors[0][0] == "has_phone" and a.score_factors[0][1] > 0
    with tenant_session(tenant_b.ref) as session:
        b = session.get(Lead, b_lead)
        assert b.predicted_score < 20 and b.score_factors[0][0] == "has_phone" and b.score_factors[0][1] < 0
        # Rule points do not learn: the same lead has the same points in both workspaces.
        assert b.rule_score == a.rule_score == 15


def test_too_few_decided_leads_means_no_predicted_score_and_the_page_says_so(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        decided(session, phone_converts=True, each=9)
        lead = _fresh(session, phone="+4930999999", company="Acme", title="CTO")
        result = scoring.score_leads(session)
        model = session.get(LeadScoreModel, 1)
        assert result["predicted"] == 0 and model.parameters is None
        assert (model.converted, model.disqualified) == (9, 9)
        lead_id = lead.id
    with tenant_session(tenant_a.ref) as session:
        scored = session.get(Lead, lead_id)
        assert (scored.predicted_score, scored.rule_score) == (None, 40)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads/{lead_id}")
    assert "No predicted score yet" in page.text and "Rule points: 40 of 100" in page.text


def test_the_leads_list_shows_and_sorts_by_the_score(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        decided(session, phone_converts=True)
        # Phoned first: the newest-first default order would list Silent first.
        _fresh(session, first_name="Phoned", last_name="Zed", phone="+4930999999")
        _fresh(session, first_name="Silent", last_name="Zed", email="silent@example.org")
        scoring.score_leads(session)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/leads?sort=-score&q=Zed")
    assert page.status_code == 200 and "Score" in page.text
    phoned, silent = page.text.index("Phoned"), page.text.index("Silent")
    assert phoned < silent and "%" in page.text[phoned:silent]
    ascending = client.get(f"/t/{tenant_a.slug}/leads?sort=score&q=Zed").text
    assert ascending.index("Silent") < ascending.index("Phoned")


def test_the_daily_job_scores_workspaces_with_sales_on_only(app_ctx, tenant_a, tenant_b):
    for fixture in (tenant_a, tenant_b):
        with tenant_session(fixture.ref) as session:
            _fresh(session, phone="+4930999999")
    set_module_enabled(db.session, tenant_b.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    with other_workspaces_set_aside(tenant_a, tenant_b):
        report = scoring.score_all_workspaces()
    assert report["skipped"].get(tenant_b.tenant.id) == "module_off"
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Lead.rule_score)) == 15
    with tenant_session(tenant_b.ref) as session:
        assert session.scalar(select(Lead.rule_score)) is None


def test_a_persons_download_holds_their_lead_scores_and_factors(tenant_a):
    import json

    from saas.modules.core.services import contacts
    from saas.modules.privacy.subject import personal_data_json

    with tenant_session(tenant_a.ref) as session:
        decided(session, phone_converts=True)
        _fresh(session, email="pia@example.org", phone="+4930999999")
        scoring.score_leads(session)
        person = contacts.create(session, {"first_name": "Pia", "email": "pia@example.org"})
        document = json.loads(personal_data_json(session, person.id, "Alpha"))
    [lead] = document["data"]["sfa"]["leads"]
    assert lead["predicted_score"] > 80 and lead["rule_score"] == 15
    assert lead["score_factors"][0][0] == "has_phone"
