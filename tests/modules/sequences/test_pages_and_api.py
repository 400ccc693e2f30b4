"""The sequence pages (the step list's add and remove; saving; counts per salesperson; the contact page's
panel; pause and stop; bulk enrolment from the contacts list) and the API (problem+json on bad input),
each refusing another workspace's sequences, enrolments and contacts; privacy download and erasure; the
module switch."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core.services import contacts
from saas.modules.registry import DataSubject
from saas.modules.sequences import privacy
from saas.modules.sequences.models import Sequence, SequenceEnrolment
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.sequences.conftest import add_people, contact_ids, enrol, make_sequence, run_jobs, statuses

WAIT = {"type": "wait", "amount": 1, "unit": "days"}
BODY = {
    "name": "Cold outreach",
    "steps": [{"type": "email", "subject": "Hi {{ first_name }}", "body": "Hello"}, WAIT],
}


def _contact(fixture, name: str = "Ada") -> str:
    with tenant_session(fixture.ref) as session:
        return str(contacts.create(session, {"first_name": name, "email": f"{name.lower()}@example.org"}).id)


def test_the_api_creates_changes_enrols_and_reads_a_sequence(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    created = client.post("/api/v1/sequences", json=BODY, headers=headers)
    assert created.status_code == 201, created.get_json()
    sequence = created.get_json()
    assert sequence["owner_user_id"] is not None  # the token's user
    changed = client.patch(f"/api/v1/sequences/{sequence['id']}", json={"name": "Warm"}, headers=headers)
    assert changed.get_json()["name"] == "Warm" and changed.get_json()["steps"] == sequence["steps"]
    person = _contact(tenant_a)
    path = f"/api/v1/sequences/{sequence['id']}/enrolments"
    assert client.post(path, json={"contact_ids": [person]}, headers=headers).get_json() == {"enrolled": 1}
    assert client.post(path, json={"contact_ids": [person]}, headers=headers).get_json() == {"enrolled": 0}
    [enrolment] = client.get(path, headers=headers).get_json()["data"]
    assert enrolment["status"] == "active" and enrolment["events"][0]["kind"] == "enrolled"

    change = f"/api/v1/sequences/enrolments/{enrolment['id']}"
    assert client.post(change, json={"action": "pause"}, headers=headers).get_json()["status"] == "paused"
    again = client.post(change, json={"action": "pause"}, headers=headers)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    stopped = client.post(change, json={"action": "stop"}, headers=headers).get_json()
    assert stopped["status"] == "stopped" and stopped["events"][-1]["outcome"] == "stopped"
    [counts] = client.get(f"/api/v1/sequences/{sequence['id']}/counts", headers=headers).get_json()["data"]
    assert counts["counts"]["enrolled"] == 1 and counts["counts"]["stopped"] == 1
    assert [s["name"] for s in client.get("/api/v1/sequences", headers=headers).get_json()["data"]] == [
        "Warm"
    ]
    assert client.delete(f"/api/v1/sequences/{sequence['id']}", headers=headers).status_code == 204
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(SequenceEnrolment)) == 0


def test_the_api_answers_a_wrong_sequence_with_a_problem_naming_each_wrong_part(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    wrong = {"name": "x", "steps": [
        {"type": "email", "subject": "", "body": "Hi {{ frist_name }}"},
        {"type": "wait", "amount": 0, "unit": "weeks"},
        {"type": "teleport"},
    ]}  # fmt: skip
    refused = client.post("/api/v1/sequences", json=wrong, headers=headers)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert {"steps.0.subject", "steps.0.body", "steps.1.amount", "steps.1.unit", "steps.2.type"} <= set(
        refused.get_json()["errors"]
    )
    empty = client.post("/api/v1/sequences", json={"name": "x", "steps": []}, headers=headers)
    assert empty.status_code == 422 and "steps" in empty.get_json()["errors"]
    stranger = client.post(
        "/api/v1/sequences",
        json={**BODY, "owner_user_id": "6f1d1f43-54f0-4f1e-9a2f-000000000009"},
        headers=headers,
    )
    assert stranger.status_code == 422 and "owner_user_id" in stranger.get_json()["errors"]
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Sequence.id)) is None


def test_tenant_b_cannot_read_change_enrol_into_or_stop_tenant_a_sequences(client, tenant_a, tenant_b):
    sequence_id = make_sequence(tenant_a, [WAIT])
    a_person = _contact(tenant_a)
    enrol(tenant_a, sequence_id, [a_person])
    with tenant_session(tenant_a.ref) as session:
        enrolment_id = session.scalar(select(SequenceEnrolment.id))
    b_sequence = make_sequence(tenant_b, [WAIT])
    b = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/sequences/{sequence_id}", headers=b).status_code == 404
    assert (
        client.patch(f"/api/v1/sequences/{sequence_id}", json={"name": "Mine"}, headers=b).status_code == 404
    )
    assert client.get(f"/api/v1/sequences/{sequence_id}/enrolments", headers=b).status_code == 404
    assert client.get(f"/api/v1/sequences/{sequence_id}/counts", headers=b).status_code == 404
    assert client.delete(f"/api/v1/sequences/{sequence_id}", headers=b).status_code == 404
    into_b = client.post(
        f"/api/v1/sequences/{b_sequence}/enrolments", json={"contact_ids": [a_person]}, headers=b
    )
    assert into_b.status_code == 404 and into_b.mimetype == "application/problem+json"
    stop = client.post(f"/api/v1/sequences/enrolments/{enrolment_id}", json={"action": "stop"}, headers=b)
    assert stop.status_code == 404
    assert [s["id"] for s in client.get("/api/v1/sequences", headers=b).get_json()["data"]] == [
        str(b_sequence)
    ]
    assert statuses(tenant_a) == ["active"]
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Sequence, sequence_id).name == "Outreach"
    with tenant_session(tenant_b.ref) as session:
        assert session.scalar(select(func.count()).select_from(SequenceEnrolment)) == 0

    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_b.slug}/sequences/{sequence_id}").status_code == 404
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/sequences").text)
    paths = (f"/sequences/{sequence_id}", f"/sequences/{sequence_id}/delete",
             f"/sequences/enrolments/{enrolment_id}", f"/sequences/enrol/{a_person}")  # fmt: skip
    for path in paths:
        answer = client.post(
            f"/t/{tenant_b.slug}{path}",
            data={"csrf_token": token, "action": "stop", "sequence_id": str(b_sequence), "name": "x"},
        )
        assert answer.status_code == 404, path
    assert statuses(tenant_a) == ["active"]


def test_a_sequence_is_built_on_its_page_and_a_contact_enrolled_from_theirs(client, tenant_a, mail_sink):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/sequences/new")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.text), "name": "Intro", "owner_user_id": re.search(
        r'name="owner_user_id"><option value="([^"]+)"', page.text).group(1), "step_count": "0"}  # fmt: skip
    added = client.post(f"{base}/sequences/new", data={**form, "action": "add", "new_step": "email"})
    assert added.status_code == 200 and 'data-type="email"' in added.text
    one_step = {**form, "step_count": "1", "step-0-type": "email", "step-0-subject": "", "action": "save"}
    unsaved = client.post(f"{base}/sequences/new", data=one_step)
    assert unsaved.status_code == 422 and "Required." in unsaved.text
    saved = client.post(f"{base}/sequences/new", data={**form, "step_count": "2", "step-0-type": "email",
                                                       "step-0-subject": "Hi {{ first_name }}",
                                                       "step-0-body": "Hello there", "step-1-type": "wait",
                                                       "step-1-amount": "3", "step-1-unit": "days",
                                                       "action": "save"})  # fmt: skip
    assert saved.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        sequence = session.scalar(select(Sequence))
        assert [s["type"] for s in sequence.steps] == ["email", "wait"] and sequence.steps[1]["amount"] == 3

    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    [contact_id] = contact_ids(tenant_a, [person])
    contact_page = client.get(f"{base}/contacts/{contact_id}")
    assert 'data-panel="sequences"' in contact_page.text and "Intro" in contact_page.text
    enrolled = client.post(
        f"{base}/sequences/enrol/{contact_id}",
        data={"csrf_token": csrf_token_from(contact_page.text), "sequence_id": str(sequence.id)},
    )
    assert enrolled.status_code == 303
    run_jobs()
    assert [m["Subject"] for m in mail_sink.to(person)] == ["Hi Granted0"]
    shown = client.get(f"{base}/contacts/{contact_id}").text
    assert 'data-status="active"' in shown and 'data-outcome="waiting"' in shown

    sequence_page = client.get(f"{base}/sequences/{sequence.id}")
    assert re.search(r'data-count="enrolled">1<', sequence_page.text)
    assert re.search(r'data-count="active">1<', sequence_page.text)
    with tenant_session(tenant_a.ref) as session:
        enrolment_id = session.scalar(select(SequenceEnrolment.id))
    stopped = client.post(
        f"{base}/sequences/enrolments/{enrolment_id}",
        data={"csrf_token": csrf_token_from(sequence_page.text), "action": "stop"},
    )
    assert stopped.status_code == 303
    assert re.search(r'data-count="stopped">1<', client.get(f"{base}/sequences/{sequence.id}").text)
    assert "Intro" in client.get(f"{base}/sequences").text


def test_contacts_are_enrolled_in_bulk_from_the_contacts_list(client, tenant_a, tenant_b):
    people = [_contact(tenant_a, name) for name in ("Ann", "Bob", "Cy")]
    sequence_id = make_sequence(tenant_a, [WAIT], name="Bulk")
    theirs = make_sequence(tenant_b, [WAIT], name="B's")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts")
    assert f'value="sequences:{sequence_id}">Sequence: Bulk' in page.text and str(theirs) not in page.text
    form = {"csrf_token": csrf_token_from(page.text), "action": "add_to_list", "scope": "selected",
            "ids": people[:2], "next": f"/t/{tenant_a.slug}/contacts"}  # fmt: skip
    refused = client.post(f"/t/{tenant_a.slug}/bulk/contacts", data={**form, "list": f"sequences:{theirs}"})
    assert refused.status_code in (303, 404, 422)
    added = client.post(
        f"/t/{tenant_a.slug}/bulk/contacts", data={**form, "list": f"sequences:{sequence_id}"}
    )
    assert added.status_code == 303
    with tenant_session(tenant_a.ref) as session:
        enrolled = set(session.scalars(select(SequenceEnrolment.contact_id)))
    assert {str(c) for c in enrolled} == set(people[:2])
    with tenant_session(tenant_b.ref) as session:
        assert session.scalar(select(func.count()).select_from(SequenceEnrolment)) == 0


def test_a_persons_enrolments_are_in_their_download_and_go_with_their_erasure(app, tenant_a, mail_sink):
    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    [contact_id] = contact_ids(tenant_a, [person])
    enrol(
        tenant_a,
        make_sequence(tenant_a, [{"type": "email", "subject": "Hi", "body": "Yo"}, WAIT]),
        [contact_id],
    )
    run_jobs()
    subject = DataSubject(contact_id, person)
    with tenant_session(tenant_a.ref) as session:
        data = privacy.personal_data(session, subject)
        assert [e["status"] for e in data["sequence_enrolments"]] == ["active"]
        assert data["sequence_enrolments"][0]["history"][0]["kind"] == "enrolled"
        assert [(e["email"], e["subject"], e["status"]) for e in data["sequence_emails"]] == [
            (person, "Hi", "sent")
        ]
        assert privacy.erase_person(session, subject) == {"sequence_emails": 1, "sequence_enrolments": 1}
    with tenant_session(tenant_a.ref) as session:
        assert privacy.personal_data(session, subject) == {"sequence_enrolments": [], "sequence_emails": []}


def test_switched_off_the_pages_are_gone_and_no_enrolment_moves(client, tenant_a, mail_sink):
    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    enrol(
        tenant_a,
        make_sequence(tenant_a, [{"type": "email", "subject": "Hi", "body": "Yo"}]),
        contact_ids(tenant_a, [person]),
    )
    set_module_enabled(db.session, tenant_a.tenant.id, "sequences", False, actor="test")
    db.session.commit()
    from saas.modules.sequences.runs import advance_all_due

    advance_all_due()
    login(client, tenant_a.email, tenant_a.password)
    assert client.get(f"/t/{tenant_a.slug}/sequences").status_code == 404
    assert client.get("/api/v1/sequences", headers=bearer(make_token(tenant_a))).status_code in (403, 404)
    assert statuses(tenant_a) == ["active"]
