"""Module switches: who may flip them, what is recorded, and the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member
from saas.db import db
from saas.modules.switches import ModuleSwitch, enabled_module_keys
from tests.conftest import PASSWORD, csrf_token_from, login


@pytest.fixture
def member_of_a(tenant_a):
    email = f"member-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    return email


def _switch(client, slug, module, enabled):
    page = client.get(f"/t/{slug}/settings/modules")
    return client.post(
        f"/t/{slug}/settings/modules",
        data={"csrf_token": csrf_token_from(page.text), "module": module, "enabled": "1" if enabled else "0"},
    )


def test_new_tenant_has_every_module_on(tenant_a):
    assert {"core", "sfa"} <= enabled_module_keys(db.session, tenant_a.tenant.id)


def test_owner_switches_a_module_off_and_on_and_each_switch_is_audited(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert _switch(client, tenant_a.slug, "sfa", False).status_code == 302
    assert "sfa" not in enabled_module_keys(db.session, tenant_a.tenant.id)
    assert "Switch Sales on" in client.get(f"/t/{tenant_a.slug}/settings/modules").text
    assert _switch(client, tenant_a.slug, "sfa", True).status_code == 302
    assert "sfa" in enabled_module_keys(db.session, tenant_a.tenant.id)
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.target == "sfa")
        .order_by(AuditEntry.id)  # without it the heap's order decides, which is not insertion order
    ).all()
    assert actions == ["module.disabled", "module.enabled"]


def test_member_gets_403_on_module_settings_and_changes_nothing(client, tenant_a, member_of_a):
    login(client, member_of_a, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings/modules").status_code == 403
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/contacts").text)
    refused = client.post(
        f"/t/{tenant_a.slug}/settings/modules", data={"csrf_token": token, "module": "sfa", "enabled": "0"}
    )
    assert refused.status_code == 403
    assert "sfa" in enabled_module_keys(db.session, tenant_a.tenant.id)


def test_admin_of_b_cannot_switch_modules_of_a(client, tenant_a, tenant_b):
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/settings/modules").text)
    response = client.post(
        f"/t/{tenant_a.slug}/settings/modules", data={"csrf_token": token, "module": "sfa", "enabled": "0"}
    )
    assert response.status_code == 404
    assert db.session.get(ModuleSwitch, (tenant_a.tenant.id, "sfa")) is None


def test_core_cannot_be_switched_off_and_unknown_modules_are_refused(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert _switch(client, tenant_a.slug, "core", False).status_code == 422
    assert _switch(client, tenant_a.slug, "nope", False).status_code == 404
    assert "core" in enabled_module_keys(db.session, tenant_a.tenant.id)


def test_cli_switches_lists_and_refuses_bad_input(app, tenant_a):
    runner = app.test_cli_runner()
    off = runner.invoke(args=["modules", "disable", tenant_a.slug, "sfa"])
    assert off.exit_code == 0, off.output
    assert json.loads(off.stdout.strip().splitlines()[-1])["changed"] is True
    listed = json.loads(
        runner.invoke(args=["modules", "list", tenant_a.slug]).stdout.strip().splitlines()[-1]
    )
    assert {"module": "sfa", "title": "Sales", "enabled": False} in listed
    on = runner.invoke(args=["modules", "enable", tenant_a.slug, "sfa"])
    assert on.exit_code == 0
    assert runner.invoke(args=["modules", "disable", tenant_a.slug, "core"]).exit_code == 2
    assert runner.invoke(args=["modules", "disable", "no-such-tenant", "sfa"]).exit_code == 2
    audit = db.session.scalars(
        select(AuditEntry.actor).where(AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.target == "sfa")
    ).all()
    assert audit == ["cli", "cli"]
