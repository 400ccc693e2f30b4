"""Alembic environment for the platform schema (run through :func:`saas.migrations.upgrade_platform`)."""

from alembic import context

from saas.db import PLATFORM_SCHEMA, PlatformBase
from saas.models import load_all_models

load_all_models()

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=PlatformBase.metadata,
    version_table_schema=PLATFORM_SCHEMA,
    include_schemas=True,
    include_name=lambda name, type_, parent: type_ != "schema" or name == PLATFORM_SCHEMA,
)
with context.begin_transaction():
    context.run_migrations()
