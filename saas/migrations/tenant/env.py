"""Alembic environment for one tenant schema.

The caller's connection logged in as the tenant's own role (see
:func:`saas.tenants.migrations.migrate_tenant`), whose schema has the role's name and so comes first on
PostgreSQL's default ``search_path`` (``"$user", public``): revisions name no schema at all.
"""

from alembic import context

from saas.db import TenantBase
from saas.models import load_all_models

load_all_models()

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=TenantBase.metadata,
    version_table_schema=context.config.attributes["tenant_schema"],
)
with context.begin_transaction():
    context.run_migrations()
