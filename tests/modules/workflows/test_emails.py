"""Workflow emails: counted once each in the usage ledger; their open pixel answers only under its own
workspace's address, and only while the module is on."""

from __future__ import annotations

from sqlalchemy import select

from saas.billing.models import UsageRecord
from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.core.services import contacts
from saas.modules.marketing.tracking import make_token
from saas.modules.switches import set_module_enabled
from saas.modules.workflows.emails import OPEN_TOKEN
from saas.modules.workflows.models import WorkflowEmail
from tests.modules.workflows.conftest import (
    add_people,
    make_campaign,
    make_workflow,
    run_jobs,
    sender_settings,
)

CEO = {"type": "record_updated", "record_type": "contacts", "field": "title", "value": "CEO"}


def _mail_everyone(fixture) -> list[str]:
    sender_settings(fixture)
    template = make_campaign(fixture)
    people = add_people(fixture, {"granted": 3})["granted"]
    make_workflow(fixture, CEO, [{"type": "send_email", "template_id": template}])
    with tenant_session(fixture.ref) as session:
        for contact_id in session.scalars(select(Contact.id)).all():
            contacts.update(session, contact_id, {"title": "CEO"})
    run_jobs()
    return people


def test_each_workflow_email_is_counted_once_in_the_usage_ledger(app, tenant_a, mail_sink, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_ledger_only")  # billing on: the ledger records
    people = _mail_everyone(tenant_a)
    run_jobs()  # nothing left to send: nothing counted again
    rows = db.session.scalars(
        select(UsageRecord).where(
            UsageRecord.tenant_id == tenant_a.tenant.id, UsageRecord.meter_key == "emails_sent"
        )
    ).all()
    assert sorted(m["To"] for m in mail_sink.messages if m["To"] in people) == sorted(people)
    assert len(rows) == 3 and all(r.subject.startswith("workflow:") for r in rows)


def _opened(fixture) -> list:
    with tenant_session(fixture.ref) as session:
        return list(session.scalars(select(WorkflowEmail.opened_at)))


def test_the_open_pixel_answers_only_under_its_own_workspace_and_while_the_module_is_on(
    client, tenant_a, tenant_b, mail_sink
):
    _mail_everyone(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        email_id = session.scalars(select(WorkflowEmail.id)).first()
    token = make_token(OPEN_TOKEN, tenant_a.tenant.id, email_id)
    assert client.get(f"/wf/{tenant_b.slug}/o/{token}.gif").status_code == 404  # B's address, A's token
    campaign_token = make_token("open", tenant_a.tenant.id, email_id)  # a campaign pixel's token
    assert client.get(f"/wf/{tenant_a.slug}/o/{campaign_token}.gif").status_code == 404
    set_module_enabled(db.session, tenant_a.tenant.id, "workflows", False, actor="test")
    db.session.commit()
    assert client.get(f"/wf/{tenant_a.slug}/o/{token}.gif").status_code == 404
    assert all(opened is None for opened in _opened(tenant_a))

    set_module_enabled(db.session, tenant_a.tenant.id, "workflows", True, actor="test")
    db.session.commit()
    answer = client.get(f"/wf/{tenant_a.slug}/o/{token}.gif")
    assert answer.status_code == 200 and answer.mimetype == "image/gif"
    assert sum(opened is not None for opened in _opened(tenant_a)) == 1
