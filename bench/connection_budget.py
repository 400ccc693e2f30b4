"""How many tenant connections each process of a bench may keep, so that all of them fit in the server.

One login per tenant means a process keeps up to its cap of tenant connections open; a server out of slots
refuses everyone alike (production puts PgBouncer in front, docs/operations.md), and a bench whose
processes together ask for more than ``max_connections`` measures refusals, not speed.
"""

from __future__ import annotations

from saas.db import db

PLATFORM_CONNECTIONS = 5
"""What each process may hold of the platform pool (DB_POOL_SIZE) besides its tenants' connections."""


def tenant_connection_budget(app_processes: int, own_tenant_connections: int) -> int:
    """Each of ``app_processes``' cap on tenant connections, beside the bench process itself (which keeps
    ``own_tenant_connections`` and a platform pool), within PostgreSQL's ``max_connections``."""
    with db.engine.connect() as connection:
        slots = int(connection.exec_driver_sql("SHOW max_connections").scalar())
        reserved = int(connection.exec_driver_sql("SHOW superuser_reserved_connections").scalar())
    spare = slots - reserved - PLATFORM_CONNECTIONS * (app_processes + 1) - own_tenant_connections
    return max(2, spare // app_processes)
