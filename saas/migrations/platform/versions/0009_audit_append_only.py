"""The audit log is append-only in the database: UPDATE, DELETE and TRUNCATE of audit_log raise.

The app's own database user owns the table, so grants alone cannot stop it (an owner may re-grant
itself anything); triggers refuse the change whoever makes it. Nothing in the app rewrites or deletes
audit rows: a purged tenant's entries outlive it (they carry ids, no personal data), by design.

Revision ID: p0009
Revises: p0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "p0009"
down_revision = "p0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION platform.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'platform.audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON platform.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION platform.audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON platform.audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON platform.audit_log")
    op.execute("DROP TRIGGER audit_log_no_update_or_delete ON platform.audit_log")
    op.execute("DROP FUNCTION platform.audit_log_append_only()")
