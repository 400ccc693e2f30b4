"""Campaign A/B tests: the sample is split evenly in the seed's order and recorded per recipient, the rest
waits for the winner and gets it exactly once (a decision run twice, a worker killed), ties and no data go
to arm A, the report shows rates with their confidence, bad tests are refused, and another tenant can
neither read nor change a test."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta

from babel import Locale
from sqlalchemy import select, update

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.marketing import campaigns, tracking
from saas.modules.marketing.ab_tests import decide_if_due
from saas.modules.marketing.content import MERGE_FIELDS
from saas.modules.marketing.models import Campaign, CampaignABTest, CampaignRecipient
from saas.modules.marketing.privacy import erase_person
from saas.modules.marketing.sending import dispatch_due_campaigns, send_campaign
from saas.modules.privacy.subject import collect_personal_data
from saas.modules.registry import DataSubject
from tests.conftest import bearer, csrf_token_from, login, make_token, other_workspaces_set_aside
from tests.i18n.test_pseudo_locale import PSEUDO, page_leaks, pseudo_locale, pseudo_pages  # noqa: F401
from tests.mailsink import start_sink
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    now,
    run_jobs,
    schedule_now,
    sender_settings,
)
from tests.modules.marketing.test_sending import WORKER, KillingSink, _subprocess_env, _wait_for_sender_to_go

API = "/api/v1/marketing/campaigns"
TEST = {
    "sample_percent": 50,
    "metric": "opens",
    "wait_hours": 24,
    "arms": [
        {"subject": "Subject A"},
        {"subject": "Subject B", "text_body": "B says hello {{ first_name }}"},
    ],
}


def _with_test(fixture, test=TEST) -> str:
    campaign_id = make_campaign(fixture)
    with tenant_session(fixture.ref) as session:
        campaigns.update_campaign(session, uuid.UUID(campaign_id), {"ab_test": test})
    return campaign_id


def _recipients(fixture, campaign_id: str) -> list[tuple[str, uuid.UUID, int | None, str]]:
    with tenant_session(fixture.ref) as session:
        return list(
            session.execute(
                select(
                    CampaignRecipient.email,
                    CampaignRecipient.contact_id,
                    CampaignRecipient.ab_arm,
                    CampaignRecipient.status,
                ).where(CampaignRecipient.campaign_id == uuid.UUID(campaign_id))
            ).tuples()
        )


def _seed(fixture, campaign_id: str) -> int:
    with tenant_session(fixture.ref) as session:
        return session.get(CampaignABTest, uuid.UUID(campaign_id)).seed


def _open(fixture, emails: list[str], kind: str = "open") -> None:
    """Open (or click) through the tracking service, as the pixel and the redirect do."""
    with tenant_session(fixture.ref) as session:
        for email in emails:
            recipient_id = session.scalar(
                select(CampaignRecipient.id).where(CampaignRecipient.email == email)
            )
            if kind == "open":
                tracking.record_open(session, tracking.make_token("open", fixture.ref.id, recipient_id))
            else:
                link_id = session.scalar(select(Campaign).limit(1)).links[0].id
                tracking.record_click(
                    session, tracking.make_token("click", fixture.ref.id, recipient_id, link_id)
                )


def _make_due(fixture, campaign_id: str) -> None:
    with tenant_session(fixture.ref) as session:
        session.execute(
            update(CampaignABTest)
            .where(CampaignABTest.campaign_id == uuid.UUID(campaign_id))
            .values(decide_at=now() - timedelta(minutes=1))
        )


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The textbook formula, as an independent check of the library's interval."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _z_test_p(k1: int, n1: int, k2: int, n2: int) -> float:
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def test_the_sample_is_split_evenly_in_the_seeds_order_and_the_rest_gets_the_winner_once(
    client, tenant_a, mail_sink
):
    people = add_people(tenant_a, {"granted": 41})["granted"]
    german = people[-1]  # a language variant keeps them out of the test: they get German at once
    with tenant_session(tenant_a.ref) as session:
        session.execute(update(Contact).where(Contact.email == german).values(preferred_locale="de"))
    sender_settings(tenant_a)
    campaign_id = _with_test(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        campaigns.update_campaign(
            session, uuid.UUID(campaign_id),
            {"variants": [{"locale": "de", "subject": "Hallo {{ first_name }}", "text_body": "Hallo"}]},
        )  # fmt: skip
    schedule_now(tenant_a, campaign_id)
    run_jobs()

    rows = _recipients(tenant_a, campaign_id)
    seed = _seed(tenant_a, campaign_id)
    pool = sorted(
        (r for r in rows if r[0] != german),
        key=lambda r: hashlib.md5(f"{seed}:{r[1]}".encode(), usedforsecurity=False).hexdigest(),
    )
    # 40 default-language recipients, 50 %: 20 in the sample, 10 per arm, alternating in the seed's order.
    assert [r[2] for r in pool[:20]] == [0, 1] * 10
    assert {(r[2], r[3]) for r in pool[20:]} == {(None, "held")}
    sent = {m["To"]: m["Subject"] for m in mail_sink.messages}
    assert len(sent) == 21 and sent[german] == "Hallo Granted40"
    arm_a = [r[0] for r in pool[:20] if r[2] == 0]
    arm_b = [r[0] for r in pool[:20] if r[2] == 1]
    assert {sent[e] for e in arm_a} == {"Subject A"} and {sent[e] for e in arm_b} == {"Subject B"}

    run_jobs()  # before the wait is over nothing more goes out
    dispatch_due_campaigns()
    run_jobs()
    assert len(mail_sink.messages) == 21

    _open(tenant_a, arm_a[:2])
    _open(tenant_a, arm_b[:6])
    with tenant_session(tenant_a.ref) as session:
        report = campaigns.campaign_report(session, uuid.UUID(campaign_id)).ab_test
    assert (report.winner, report.leader, report.held) == (None, "B", 20)

    _make_due(tenant_a, campaign_id)
    # The minute's dispatcher may queue the send twice; the decision and the rest happen once.
    dispatch_due_campaigns()
    dispatch_due_campaigns()
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        send_campaign(session, campaign_id)  # a late re-run finds nothing to decide or send
        assert decide_if_due(session, session.get(Campaign, uuid.UUID(campaign_id))) is False
    received = Counter(m["To"] for m in mail_sink.messages)
    assert set(received) == set(people) and set(received.values()) == {1}
    rest = [r[0] for r in pool[20:]]
    assert {m["Subject"] for m in mail_sink.messages if m["To"] in rest} == {"Subject B"}
    assert all(
        "B says hello" in m.get_body(("plain",)).get_content() for m in mail_sink.messages if m["To"] in rest
    )

    with tenant_session(tenant_a.ref) as session:
        campaign = session.get(Campaign, uuid.UUID(campaign_id))
        report = campaigns.campaign_report(session, campaign.id).ab_test
        assert campaign.status == "sent"
    assert (report.winner, report.decision, report.held) == ("B", "best_rate", 0)
    a, b = report.arms
    assert (a.sent, a.opened, a.rate, b.sent, b.opened, b.rate) == (10, 2, 0.2, 10, 6, 0.6)
    for arm in (a, b):
        low, high = _wilson(arm.opened, arm.sent)
        assert math.isclose(arm.ci_low, low, rel_tol=1e-9) and math.isclose(arm.ci_high, high, rel_tol=1e-9)
    assert b.p_value is None and math.isclose(a.p_value, _z_test_p(6, 10, 2, 10), rel_tol=1e-9)

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}/report")
    assert page.status_code == 200 and 'id="ab-test-arms"' in page.text
    assert "Winner: variant B" in page.text and f"{a.p_value:.3f}" in page.text and "60.0%" in page.text
    answer = client.get(f"{API}/{campaign_id}/report", headers=bearer(make_token(tenant_a))).get_json()
    assert answer["ab_test"]["winner"] == "B"
    assert [(arm["arm"], arm["sent"], arm["opened"]) for arm in answer["ab_test"]["arms"]] == [
        ("A", 10, 2), ("B", 10, 6)
    ]  # fmt: skip
    assert math.isclose(answer["ab_test"]["arms"][0]["p_value"], a.p_value)

    # The person's data names their arm and the subject they were really sent.
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == arm_a[0]))
        [delivery] = collect_personal_data(session, contact_id)["marketing"]["emails"]
        rest_id = session.scalar(select(Contact.id).where(Contact.email == rest[0]))
        [rest_delivery] = collect_personal_data(session, rest_id)["marketing"]["emails"]
    assert (delivery["ab_test_arm"], delivery["subject"]) == ("A", "Subject A")
    assert (rest_delivery["ab_test_arm"], rest_delivery["subject"]) == (None, "Subject B")
    # Erasing the person takes their arm with their delivery; the report's arm shrinks by one.
    with tenant_session(tenant_a.ref) as session:
        erase_person(session, DataSubject(contact_id, arm_a[0]))
    assert arm_a[0] not in {r[0] for r in _recipients(tenant_a, campaign_id)}
    with tenant_session(tenant_a.ref) as session:
        assert campaigns.campaign_report(session, uuid.UUID(campaign_id)).ab_test.arms[0].sent == 9


def test_ties_and_no_data_go_to_arm_a_as_the_report_says(client, tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 8})
    sender_settings(tenant_a)
    campaign_id = _with_test(tenant_a, TEST | {"metric": "clicks", "sample_percent": 50})
    schedule_now(tenant_a, campaign_id)
    run_jobs()
    _make_due(tenant_a, campaign_id)
    with other_workspaces_set_aside(tenant_a):  # the dispatcher walks every workspace; count only ours
        assert dispatch_due_campaigns()["queued"] == 1
        run_jobs()
    with tenant_session(tenant_a.ref) as session:
        test = session.get(CampaignABTest, uuid.UUID(campaign_id))
        assert (test.winner, test.decision) == (0, "no_data")
    assert {m["Subject"] for m in mail_sink.messages[4:]} == {"Subject A"}
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}/report")
    assert "no opens or clicks to compare" in page.text and "on a tie the first of the tied arms" in page.text

    # A tie: one click in each arm of a second campaign.
    second = _with_test(tenant_a, TEST | {"metric": "clicks"})
    schedule_now(tenant_a, second)
    run_jobs()
    by_arm = {}
    for email, _, arm, _ in _recipients(tenant_a, second):
        if arm is not None:
            by_arm.setdefault(arm, email)
    with tenant_session(tenant_a.ref) as session:
        campaign = session.get(Campaign, uuid.UUID(second))
        for email in by_arm.values():
            recipient_id = session.scalar(
                select(CampaignRecipient.id).where(
                    CampaignRecipient.email == email, CampaignRecipient.campaign_id == campaign.id
                )
            )
            tracking.record_click(
                session, tracking.make_token("click", tenant_a.ref.id, recipient_id, campaign.links[0].id)
            )
    _make_due(tenant_a, second)
    dispatch_due_campaigns()
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        test = session.get(CampaignABTest, uuid.UUID(second))
        report = campaigns.campaign_report(session, uuid.UUID(second)).ab_test
    assert (test.winner, test.decision) == (0, "tie")
    assert math.isclose(report.arms[1].p_value, 1.0)  # equal rates: no evidence either way


def test_a_worker_killed_while_sending_the_winner_resumes_and_nobody_gets_a_second_mail(
    app, tenant_a, monkeypatch
):
    people = add_people(tenant_a, {"granted": 60})["granted"]
    sender_settings(tenant_a)
    sink = KillingSink(kill_at=10**6)
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    try:
        campaign_id = _with_test(tenant_a, TEST | {"sample_percent": 20})
        schedule_now(tenant_a, campaign_id)
        run_jobs()
        assert len(sink.messages) == 12
        _make_due(tenant_a, campaign_id)
        sink.kill_at = 12 + 25  # in the middle of the rest
        dispatch_due_campaigns()
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER], env=_subprocess_env(app, url), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        sink.worker_pid = worker.pid
        assert worker.wait(timeout=120) < 0
        assert len(sink.messages) == 36
        _wait_for_sender_to_go()
        assert dispatch_due_campaigns()["queued"] >= 1
        run_jobs()
    finally:
        controller.stop()
    received = Counter(m["To"] for m in sink.messages)
    assert set(received) == set(people) and set(received.values()) == {1}
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Campaign, uuid.UUID(campaign_id)).status == "sent"


def test_bad_tests_are_refused_with_a_problem_and_the_page_keeps_what_was_typed(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    created = client.post(API, headers=headers, json={"name": "Launch", "subject": "Hi", "text_body": "Hi"})
    campaign_id = created.get_json()["id"]
    for bad in (
        TEST | {"arms": [{"subject": "Only one"}]},
        TEST | {"metric": "replies"},
        TEST | {"sample_percent": 0},
        TEST | {"arms": [{"subject": "Same"}, {"subject": "Same"}]},
        TEST | {"arms": [{"subject": "Hi {{ shoe_size }}"}, {"subject": "B"}]},
    ):
        answer = client.patch(f"{API}/{campaign_id}", headers=headers, json={"ab_test": bad})
        assert answer.status_code == 422, bad
        assert answer.content_type == "application/problem+json"
    assert client.get(f"{API}/{campaign_id}", headers=headers).get_json()["ab_test"] is None

    saved = client.patch(f"{API}/{campaign_id}", headers=headers, json={"ab_test": TEST})
    assert saved.status_code == 200
    body = saved.get_json()["ab_test"]
    assert (body["sample_percent"], body["metric"], body["winner"]) == (50, "opens", None)
    assert [arm["subject"] for arm in body["arms"]] == ["Subject A", "Subject B"]
    removed = client.patch(f"{API}/{campaign_id}", headers=headers, json={"ab_test": None})
    assert removed.get_json()["ab_test"] is None

    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}"
    token = csrf_token_from(client.get(url).text)
    form = {"csrf_token": token, "name": "Launch", "subject": "Hi", "text_body": "Hi", "ab_form": "1",
            "ab_enabled": "1", "ab_sample_percent": "20", "ab_wait_hours": "4", "ab_metric": "opens",
            "ab_arm_0_subject": "Same", "ab_arm_1_subject": "Same"}  # fmt: skip
    page = client.post(url, data=form)
    assert page.status_code == 422
    assert "This variant is the same as another one." in page.text and 'id="ab-arm-1-errors"' in page.text
    assert 'value="Same"' in page.text
    page = client.post(url, data=form | {"ab_arm_1_subject": "Different"}, follow_redirects=True)
    assert page.status_code == 200 and 'id="ab-test-summary"' in page.text
    with tenant_session(tenant_a.ref) as session:
        test = session.get(CampaignABTest, uuid.UUID(campaign_id))
        assert [arm["subject"] for arm in test.arms] == ["Same", "Different"] and test.sample_percent == 20


def test_tenant_b_cannot_read_or_change_tenant_a_ab_test(client, tenant_a, tenant_b):
    campaign_id = _with_test(tenant_a)
    as_b = bearer(make_token(tenant_b))
    assert client.get(f"{API}/{campaign_id}", headers=as_b).status_code == 404
    assert client.get(f"{API}/{campaign_id}/report", headers=as_b).status_code == 404
    assert client.patch(f"{API}/{campaign_id}", headers=as_b, json={"ab_test": None}).status_code == 404
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_b.slug}/marketing/campaigns/{campaign_id}/report").status_code == 404
    with tenant_session(tenant_a.ref) as session:
        assert session.get(CampaignABTest, uuid.UUID(campaign_id)) is not None
    with tenant_session(tenant_b.ref) as session:
        assert session.get(CampaignABTest, uuid.UUID(campaign_id)) is None


def test_the_ab_test_and_attribution_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    mail_sink,
    pseudo_locale,  # noqa: F811
):
    add_people(tenant_a, {"granted": 4})
    sender_settings(tenant_a)
    campaign_id = _with_test(tenant_a)
    schedule_now(tenant_a, campaign_id)
    run_jobs()
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/marketing"
    draft_id = _with_test(tenant_a)
    pages = pseudo_pages(
        client,
        {
            "edit form with a test": f"{base}/campaigns/{draft_id}",
            "report while waiting": f"{base}/campaigns/{campaign_id}/report",
            "attribution": f"{base}/attribution",
        },
    )
    data = {tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Autumn", "Subject A", "Subject B",
            "A", "B", "EUR", "Hello", "Offer", "B says hello", "first_name", "friend", "News for",
            "audience"}  # fmt: skip
    with tenant_session(tenant_a.ref) as session:  # the draft's own text, shown in its fields as written
        draft = session.get(Campaign, uuid.UUID(draft_id))
        data |= {draft.html_body, draft.text_body, draft.subject, "B says hello {{ first_name }}"}
    data |= {f"{{{{ {name} }}}}" for name in MERGE_FIELDS} | {'{{ first_name | "there" }}'}
    data |= set(Locale.parse(PSEUDO).months["format"]["abbreviated"].values())  # dates are formatted
    for name, text in pages.items():
        assert page_leaks(text, data) == [], (name, page_leaks(text, data))


def test_a_sample_that_takes_the_whole_audience_still_records_its_winner(tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 2})
    sender_settings(tenant_a)
    campaign_id = _with_test(tenant_a, TEST | {"sample_percent": 10})  # at least one per arm: all of them
    schedule_now(tenant_a, campaign_id)
    run_jobs()
    assert len(mail_sink.messages) == 2
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Campaign, uuid.UUID(campaign_id)).status == "sending"  # waiting for the decision
    _make_due(tenant_a, campaign_id)
    dispatch_due_campaigns()
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        campaign = session.get(Campaign, uuid.UUID(campaign_id))
        assert (campaign.status, campaign.ab_test.winner_arm, campaign.ab_test.decision) == (
            "sent",
            "A",
            "no_data",
        )
    assert len(mail_sink.messages) == 2


def test_a_test_by_clicks_without_a_link_cannot_be_scheduled(client, tenant_a, mail_sink):
    sender_settings(tenant_a)
    headers = bearer(make_token(tenant_a))
    segment = client.post(
        f"{API.rsplit('/', 1)[0]}/segments", headers=headers,
        json={"name": "All", "rules": [{"field": "last_name", "op": "equals", "value": "p"}]},
    ).get_json()  # fmt: skip
    created = client.post(
        API, headers=headers,
        json={"name": "No links", "subject": "Hi", "text_body": "Hi", "segment_id": segment["id"],
              "ab_test": TEST | {"metric": "clicks"}},
    )  # fmt: skip
    assert created.status_code == 201
    answer = client.post(f"{API}/{created.get_json()['id']}/schedule", headers=headers, json={})
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert "ab_test.metric" in str(answer.get_json())
    assert client.get(f"{API}/{created.get_json()['id']}", headers=headers).get_json()["status"] == "draft"
