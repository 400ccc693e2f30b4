"""``saas export`` and ``saas import``: the exit and the way back in, from the command line."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from saas.db import db
from saas.errors import SaasError


@click.command("export", help="Write a complete export of a tenant to a ZIP file.")
@click.argument("slug")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_command(slug: str, out_path: str) -> None:
    from saas.audit import record_audit
    from saas.exports.services import export_tenant_to_file
    from saas.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        click.echo(json.dumps({"error": f"No tenant '{slug}'."}), err=True)
        sys.exit(2)
    partial = out_path + ".partial"
    with open(partial, "wb") as target:
        manifest = export_tenant_to_file(tenant, target)
    # Renamed only when complete: a crash never leaves something that looks like a finished archive.
    import os

    os.replace(partial, out_path)
    record_audit(db.session, "export.cli", actor="cli", tenant_id=tenant.id, target=out_path)
    db.session.commit()
    rows = {name: table["rows"] for name, table in manifest["tables"].items()}
    click.echo(json.dumps({"out": out_path, "schema_version": manifest["schema_version"], "rows": rows}))


@click.command("import", help="Create a new tenant from an export archive (verified first).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True, envvar="SAAS_ADMIN_PASSWORD")
@with_appcontext
def import_command(path: str, slug: str, name: str, admin_email: str, admin_password: str) -> None:
    from saas.exports.services import import_tenant

    try:
        result = import_tenant(
            path, slug=slug, name=name, admin_email=admin_email, admin_password=admin_password, actor="cli"
        )
    except SaasError as error:
        details = getattr(error, "errors", None)
        click.echo(json.dumps({"error": error.detail, **({"errors": details} if details else {})}), err=True)
        sys.exit(2)
    click.echo(
        json.dumps(
            {
                "id": result.tenant.id,
                "slug": result.tenant.slug,
                "schema": result.tenant.schema_name,
                "archive_schema_version": result.schema_version_in_archive,
                "schema_version": result.tenant.schema_version,
                "rows": result.rows,
            }
        )
    )
