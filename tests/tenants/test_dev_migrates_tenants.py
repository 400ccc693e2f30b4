"""`saas dev` brings the tenants of an existing development instance to the current schema before serving
(a dev database made by older code otherwise answers 500 on the first page that needs a new column)."""

from __future__ import annotations

from saas.cli import migrate_dev_tenants
from saas.db import db
from saas.migrations import head_revision, script_directory
from saas.tenants.migrations import migrate_tenant, read_schema_versions


def test_dev_start_migrates_a_tenant_left_behind(make_tenant):
    behind, current = make_tenant("old-dev"), make_tenant("new-dev")
    previous = script_directory("tenant").get_revision(head_revision("tenant")).down_revision
    assert migrate_tenant(behind.ref, target=previous).status == "upgraded"
    assert read_schema_versions([behind.ref])[behind.tenant.id] == previous

    results = {r.slug: r for r in migrate_dev_tenants()}

    head = head_revision("tenant")
    assert results[behind.slug].status == "upgraded" and results[current.slug].status == "current"
    assert read_schema_versions([behind.ref, current.ref]) == {
        behind.tenant.id: head, current.tenant.id: head
    }  # fmt: skip
    db.session.refresh(behind.tenant)
    assert behind.tenant.schema_version == head
