"""The tenant registry in the platform schema."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.cells import DEFAULT_CELL
from saas.db import TenantRef, db


class Tenant(db.Model):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    role_name: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Which derived password the tenant's role logs in with; `saas tenants rotate-db-secret` moves it.
    db_login_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Which cell (saas/cells.py) holds the schema and role: where the workspace's data lives.
    cell: Mapped[str] = mapped_column(String(30), default=DEFAULT_CELL, server_default=DEFAULT_CELL)
    # The Alembic revision the tenant schema is at; the migrator keeps it in step.
    schema_version: Mapped[str | None] = mapped_column(String(64))
    # The workspace's default language and time zone (saas.i18n); none: the browser's, UTC.
    locale: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def ref(self) -> TenantRef:
        return TenantRef(
            id=self.id,
            slug=self.slug,
            schema_name=self.schema_name,
            role_name=self.role_name,
            login_version=self.db_login_version or 1,
            cell=self.cell or DEFAULT_CELL,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "schema": self.schema_name,
            "status": self.status,
            "cell": self.cell,
            "schema_version": self.schema_version,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def tenant_refs_by_cell(session: Session, slugs: Collection[str] | None = None) -> dict[str, list[TenantRef]]:
    """Every declared cell with its tenants (``slugs``: only those), for commands that walk every cell
    and account for every tenant in each. A cell the directory names but the configuration lost is
    listed too, so its tenants are reported (and fail loudly) rather than skipped."""
    from saas.cells import cell_directory

    groups: dict[str, list[TenantRef]] = {cell.name: [] for cell in cell_directory()}
    query = select(Tenant).order_by(Tenant.cell, Tenant.slug)
    if slugs is not None:
        query = query.where(Tenant.slug.in_(list(slugs)))
    for tenant in session.scalars(query):
        groups.setdefault(tenant.cell, []).append(tenant.ref)
    return groups


class ReadySchema(db.Model):
    """A tenant schema and role built ahead of any signup (``saas.tenants.pool``): a signup claims one
    instead of building its tables while the person waits. Its id becomes the tenant's id."""

    __tablename__ = "ready_schemas"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    schema_version: Mapped[str] = mapped_column(String(64))
    # Which tenant-login key the role's password was derived from (a fingerprint, never the key): a role
    # built before the key changed could not log in, so it is never handed out.
    login_key: Mapped[str] = mapped_column(String(16))
    cell: Mapped[str] = mapped_column(
        String(30), default=DEFAULT_CELL, server_default=DEFAULT_CELL, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def ref(self) -> TenantRef:
        return ready_schema_ref(self.id, self.cell)


def ready_schema_ref(ready_id: str, cell: str = DEFAULT_CELL) -> TenantRef:
    """A ready schema's schema and role are named as the tenant that claims it will be (``t_<id>``)."""
    name = f"t_{ready_id}"
    return TenantRef(id=ready_id, slug=f"ready-{ready_id}", schema_name=name, role_name=name, cell=cell)
