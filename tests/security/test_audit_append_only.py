"""The audit log is append-only in the database itself (finding l): the app's own engine, which owns
the table, can add entries but cannot change, delete or truncate them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from saas.audit import AuditEntry, record_audit
from saas.db import db
from saas.tenants.provisioning import purge_tenant

REFUSALS = {
    "update": "UPDATE platform.audit_log SET actor = 'someone-else' WHERE id = :id",
    "delete": "DELETE FROM platform.audit_log WHERE id = :id",
    "truncate": "TRUNCATE platform.audit_log",
}


def _entry() -> int:
    entry = record_audit(db.session, "test.append_only", actor="tests", target="x")
    db.session.flush()
    entry_id = entry.id
    # Ends the session's transaction too: its lock on the table would hold a TRUNCATE waiting forever.
    db.session.commit()
    return entry_id


def test_entries_can_be_added(app_ctx):
    entry_id = _entry()
    assert db.session.get(AuditEntry, entry_id).action == "test.append_only"


@pytest.mark.parametrize("statement", sorted(REFUSALS))
def test_the_apps_own_engine_cannot_rewrite_the_audit_log(app_ctx, statement):
    entry_id = _entry()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
        connection.execute(text(REFUSALS[statement]), {"id": entry_id})
    with db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT actor FROM platform.audit_log WHERE id = :id"), {"id": entry_id}
        ).one()
    assert row.actor == "tests"


def test_orm_delete_is_refused_too(app_ctx):
    entry_id = _entry()
    db.session.delete(db.session.get(AuditEntry, entry_id))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry_id) is not None


def test_purging_a_tenant_keeps_its_audit_entries(make_tenant):
    tenant = make_tenant("gone")
    tenant_id = tenant.tenant.id
    db.session.remove()  # the purge starts from a fresh session, as the CLI's does
    purge_tenant(tenant_id, actor="tests")
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_id)))
    assert {"tenant.provisioned", "tenant.purged"} <= actions
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) > 0
