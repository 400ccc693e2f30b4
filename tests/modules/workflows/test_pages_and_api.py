"""The workflow pages (the step list's add, move and remove; saving; the runs) and the API (problem+json on
bad input), each refusing another workspace's workflows; the module switch and a read-only workspace."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core.services import contacts
from saas.modules.sfa.models import Task
from saas.modules.switches import set_module_enabled
from saas.modules.workflows.models import Workflow, WorkflowEnrolment
from saas.modules.workflows.runs import advance_all_due
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.exports.test_self_serve_import import billing_on, lapse
from tests.modules.workflows.conftest import make_workflow, run_jobs

CREATED = {"type": "record_created", "record_type": "contacts"}
BODY = {"name": "Welcome", "enabled": True, "trigger": CREATED,
        "steps": [{"type": "create_task", "title": "Hi"}]}  # fmt: skip


def _signed_in(client, fixture) -> str:
    login(client, fixture.email, fixture.password)
    return f"/t/{fixture.slug}"


def test_the_api_creates_changes_and_reads_a_workflow_and_its_runs(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    created = client.post("/api/v1/workflows", json=BODY, headers=headers)
    assert created.status_code == 201, created.get_json()
    workflow_id = created.get_json()["id"]
    changed = client.patch(
        f"/api/v1/workflows/{workflow_id}",
        json={"steps": [{"type": "wait", "amount": 2, "unit": "hours"}, {"type": "stop"}]},
        headers=headers,
    )
    assert changed.get_json()["version"] == 2
    with tenant_session(tenant_a.ref) as session:
        contacts.create(session, {"first_name": "Ada", "email": "ada@example.org"})
    runs = client.get(f"/api/v1/workflows/{workflow_id}/runs", headers=headers).get_json()["data"]
    assert [(r["status"], r["version"], r["trigger_event"]) for r in runs] == [
        ("active", 2, "contact.created")
    ]
    listed = client.get("/api/v1/workflows", headers=headers).get_json()["data"]
    assert [w["name"] for w in listed] == ["Welcome"]


def test_the_api_answers_a_wrong_workflow_with_a_problem_naming_each_wrong_part(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    wrong = {**BODY, "trigger": {"type": "record_created", "record_type": "nothing"},
             "steps": [{"type": "create_task", "title": ""}, {"type": "teleport"}]}  # fmt: skip
    refused = client.post("/api/v1/workflows", json=wrong, headers=headers)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert {"trigger.record_type", "steps.0.title", "steps.1.type"} <= set(refused.get_json()["errors"])
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Workflow.id)) is None


def test_tenant_b_cannot_read_change_or_delete_tenant_a_workflow(client, tenant_a, tenant_b):
    workflow_id = make_workflow(tenant_a, CREATED, [{"type": "stop"}])
    headers = bearer(make_token(tenant_b))
    for method, path, body in (
        ("get", f"/api/v1/workflows/{workflow_id}", None),
        ("get", f"/api/v1/workflows/{workflow_id}/runs", None),
        ("patch", f"/api/v1/workflows/{workflow_id}", {"name": "Mine"}),
        ("delete", f"/api/v1/workflows/{workflow_id}", None),
    ):
        answer = getattr(client, method)(path, json=body, headers=headers)
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    base = _signed_in(client, tenant_b)
    assert client.get(f"{base}/workflows/{workflow_id}").status_code == 404
    token = csrf_token_from(client.get(f"{base}/workflows/new").text)
    for path in (f"{base}/workflows/{workflow_id}/switch", f"{base}/workflows/{workflow_id}/delete"):
        assert client.post(path, data={"csrf_token": token, "enabled": "0"}).status_code == 404
    with tenant_session(tenant_a.ref) as session:
        workflow = session.get(Workflow, workflow_id)
        assert (workflow.name, workflow.enabled) == ("Flow", True)


def _form(token: str, steps: list[dict], **extra) -> dict:
    data = {"csrf_token": token, "name": "Welcome", "enabled": "1", "trigger_type": "record_created",
            "trigger_record_type": "contacts", "step_count": str(len(steps)), **extra}  # fmt: skip
    for i, step in enumerate(steps):
        data |= {f"step-{i}-{key}": value for key, value in step.items()}
    return data


def test_the_editor_adds_moves_and_removes_steps_before_saving(client, tenant_a):
    base = _signed_in(client, tenant_a)
    token = csrf_token_from(client.get(f"{base}/workflows/new").text)
    added = client.post(f"{base}/workflows/new", data=_form(token, [], action="add", new_step="wait"))
    assert added.status_code == 200 and 'data-type="wait"' in added.text
    steps = [{"type": "wait", "amount": "1", "unit": "days"}, {"type": "create_task", "title": "Call"}]
    moved = client.post(f"{base}/workflows/new", data=_form(token, steps, action="up-1"))
    assert moved.text.index('data-type="create_task"') < moved.text.index('data-type="wait"')
    removed = client.post(f"{base}/workflows/new", data=_form(token, steps, action="remove-0"))
    assert 'data-type="wait"' not in removed.text and 'data-type="create_task"' in removed.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Workflow.id)) is None  # nothing saved yet

    wrong = client.post(f"{base}/workflows/new", data=_form(token, [{"type": "create_task", "title": ""}]))
    assert wrong.status_code == 422 and "Please correct the workflow." in wrong.text
    saved = client.post(f"{base}/workflows/new", data=_form(token, steps, action="save"))
    assert saved.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        workflow = session.scalar(select(Workflow))
        assert [s["type"] for s in workflow.steps] == ["wait", "create_task"]
        assert workflow.enabled and workflow.base_url.startswith("http://")
    page = client.get(saved.headers["Location"])
    assert "runs under way finish on the version they started with" in page.text
    assert "stops its runs at their next step" in page.text


def test_a_record_page_shows_its_runs(client, tenant_a):
    make_workflow(tenant_a, CREATED, [{"type": "stop"}], name="Greeter")
    with tenant_session(tenant_a.ref) as session:
        contact_id = contacts.create(session, {"first_name": "Ada"}).id
    run_jobs()
    base = _signed_in(client, tenant_a)
    page = client.get(f"{base}/contacts/{contact_id}")
    assert 'data-panel="workflows"' in page.text and "Greeter" in page.text
    assert "A stop step ended the run." in page.text


def test_a_switched_off_module_hides_its_pages_and_api_and_starts_no_runs(client, tenant_a):
    make_workflow(tenant_a, CREATED, [{"type": "stop"}])
    set_module_enabled(db.session, tenant_a.tenant.id, "workflows", False, actor="test")
    db.session.commit()
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/workflows", headers=headers).status_code == 404
    base = _signed_in(client, tenant_a)
    assert client.get(f"{base}/workflows").status_code == 404
    with tenant_session(tenant_a.ref) as session:
        contacts.create(session, {"first_name": "Ada"})
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(WorkflowEnrolment.id)) is None


def test_a_read_only_workspace_keeps_its_runs_waiting(app, tenant_a):
    make_workflow(tenant_a, CREATED, [{"type": "create_task", "title": "Hi"}])
    with tenant_session(tenant_a.ref) as session:
        contact_id = contacts.create(session, {"first_name": "Ada"}).id
    lapse(tenant_a)
    with billing_on(app):
        run_jobs()
        with tenant_session(tenant_a.ref) as session:
            run = session.scalar(select(WorkflowEnrolment).where(WorkflowEnrolment.record_id == contact_id))
            assert (run.status, run.step_index) == ("active", 0)
            assert session.scalar(select(func.count()).select_from(Task)) == 0
    advance_all_due()  # paid again (billing off): the minute's sweep takes the run on
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Task.title)) == "Hi"
