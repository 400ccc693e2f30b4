"""The ``saas`` command: database, tenants, tokens, worker and the development runner."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import select

from saas.db import db
from saas.errors import SaasError
from saas.operator.cli import operators_group
from saas.tenants import migrations
from saas.tenants.moves.cli import move_command


def _fail(error: SaasError) -> None:
    details = getattr(error, "errors", None)
    click.echo(json.dumps({"error": error.detail, **({"errors": details} if details else {})}), err=True)
    sys.exit(2)


@click.group("db", cls=AppGroup, help="Platform database.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Migrate the platform schema to the newest revision.")
def db_upgrade() -> None:
    from saas.migrations import upgrade_platform

    click.echo(f"platform schema at {upgrade_platform(db.engine)}")


@click.group("tenants", cls=AppGroup, help="Tenant registry and tenant schemas.")
def tenants_group() -> None:
    pass


@tenants_group.command("create", help="Provision a tenant with its schema, role and owner.")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option(
    "--admin-password",
    required=True,
    help="Prefer the SAAS_ADMIN_PASSWORD variable.",
    envvar="SAAS_ADMIN_PASSWORD",
)
@click.option("--cell", default="default", show_default=True, help="The cell (region) that holds its data.")
def tenants_create(slug: str, name: str, admin_email: str, admin_password: str, cell: str) -> None:
    from saas.tenants.provisioning import provision_tenant

    try:
        tenant = provision_tenant(slug, name, admin_email, admin_password, actor="cli", cell=cell)
    except SaasError as error:
        _fail(error)
    click.echo(
        json.dumps({"id": tenant.id, "slug": tenant.slug, "schema": tenant.schema_name, "cell": tenant.cell})
    )


@tenants_group.command("list", help="List tenants.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def tenants_list(as_json: bool) -> None:
    from saas.tenants.models import Tenant

    tenants = [t.as_dict() for t in db.session.scalars(select(Tenant).order_by(Tenant.slug))]
    if as_json:
        click.echo(json.dumps(tenants))
        return
    for tenant in tenants:
        click.echo(
            f"{tenant['slug']:<40} {tenant['schema']:<16} {tenant['status']:<10} {tenant['schema_version']}"
        )


@tenants_group.command(
    "migrate", help="Upgrade every tenant schema; resumable (run it again); exits 1 if any tenant failed."
)
@click.option("--jobs", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--slug", "slugs", multiple=True, help="Only these tenants (repeatable).")
@click.option(
    "--lock-timeout",
    default=migrations.DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0.001),
    help="Seconds a tenant waits for a lock before it is put back and tried after the others.",
)
@click.option(
    "--retries",
    default=migrations.DEFAULT_RETRIES,
    show_default=True,
    type=click.IntRange(0, 20),
    help="How many more times a busy tenant is tried before it is reported failed.",
)
def tenants_migrate(jobs: int, slugs: tuple[str, ...], lock_timeout: float, retries: int) -> None:
    from saas.audit import record_audit
    from saas.tenants.migrations import migrate_all_tenants, record_versions
    from saas.tenants.models import Tenant
    from saas.tenants.pool import ready_schema_refs, record_ready_versions

    query = select(Tenant).order_by(Tenant.slug)
    if slugs:
        query = query.where(Tenant.slug.in_(slugs))
    tenants = [t.ref for t in db.session.scalars(query)]

    def echo(result) -> None:
        click.echo(json.dumps(result.as_dict()))

    ready = ready_schema_refs()  # the pool (a few schemas) stays at head with the tenants
    db.session.rollback()  # hold no platform transaction open through the run
    results = migrate_all_tenants(
        tenants + ready, jobs=jobs, on_result=echo, lock_timeout=lock_timeout, retries=retries
    )
    ready_ids = {ref.id for ref in ready}
    record_ready_versions({r.tenant_id: r.to_version for r in results if r.tenant_id in ready_ids})
    results = [r for r in results if r.tenant_id not in ready_ids]  # a failed one is rebuilt, not reported
    record_versions(db.session, results)
    counts = {
        status: sum(r.status == status for r in results) for status in ("upgraded", "current", "failed")
    }
    failed = [r for r in results if r.status == "failed"]
    summary = {"tenants": len(tenants), **counts, "failed_tenants": [r.slug for r in failed]}
    record_audit(db.session, "tenants.migrated", actor="cli", details=summary)
    db.session.commit()
    click.echo(json.dumps({"summary": summary}))
    click.echo(
        f"migrated {counts['upgraded']}, already at head {counts['current']}, failed {counts['failed']}",
        err=True,
    )
    for result in failed:
        click.echo(f"  {result.slug}: {result.error}", err=True)
    if failed or sum(counts.values()) != len(tenants):
        sys.exit(1)


@tenants_group.command("pool", help="Ready tenant schemas for fast signups: show, fill or drain the pool.")
@click.argument("action", type=click.Choice(["status", "fill", "drain"]), default="status")
def tenants_pool(action: str) -> None:
    from saas.tenants import pool

    if action == "fill":
        click.echo(json.dumps(pool.refill_pool()))
    elif action == "drain":
        click.echo(json.dumps({"dropped": pool.drain_pool()}))
    click.echo(json.dumps({"size": pool.pool_size(), "ready": len(pool.ready_schema_refs())}))


@tenants_group.command(
    "rotate-db-secret", help="Give tenant roles a new database password (derived, never stored)."
)
@click.option("--slug", "slugs", multiple=True, help="Only these tenants (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every tenant (after TENANT_DB_SECRET_KEY changed).")
def tenants_rotate_db_secret(slugs: tuple[str, ...], every: bool) -> None:
    from saas.tenants.roles import rotate_tenant_login

    if not slugs and not every:
        raise click.UsageError("Name tenants with --slug, or pass --all.")
    rotated = rotate_tenant_login(db.session, None if every else list(slugs), actor="cli")
    click.echo(json.dumps({"rotated": rotated}))


tenants_group.add_command(move_command)


@click.group("modules", cls=AppGroup, help="Per-tenant module switches.")
def modules_group() -> None:
    pass


def _switch_module(slug: str, key: str, enabled: bool) -> None:
    from saas.modules.switches import set_module_enabled
    from saas.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        _fail(SaasError(f"No tenant '{slug}'."))
    try:
        changed = set_module_enabled(db.session, tenant.id, key, enabled, actor="cli")
    except SaasError as error:
        _fail(error)
    db.session.commit()
    click.echo(json.dumps({"tenant": slug, "module": key, "enabled": enabled, "changed": changed}))


@modules_group.command("enable", help="Switch a module on for a tenant.")
@click.argument("slug")
@click.argument("module")
def modules_enable(slug: str, module: str) -> None:
    _switch_module(slug, module, True)


@modules_group.command("disable", help="Switch a module off for a tenant (its data is kept).")
@click.argument("slug")
@click.argument("module")
def modules_disable(slug: str, module: str) -> None:
    _switch_module(slug, module, False)


@modules_group.command("list", help="Modules and whether each is on for a tenant.")
@click.argument("slug")
def modules_list(slug: str) -> None:
    from saas.modules.registry import registry
    from saas.modules.switches import enabled_module_keys
    from saas.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        _fail(SaasError(f"No tenant '{slug}'."))
    enabled = enabled_module_keys(db.session, tenant.id)
    click.echo(
        json.dumps([{"module": m.key, "title": m.title, "enabled": m.key in enabled} for m in registry])
    )


@click.group("tokens", cls=AppGroup, help="Personal API tokens.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Create an API token; the secret is printed once.")
@click.option("--tenant", "slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--scope", "scopes", multiple=True, help="e.g. contacts:read; repeat; none: full access.")
def tokens_create(slug: str, email: str, name: str, scopes: tuple[str, ...]) -> None:
    from saas.api.access import api_scopes
    from saas.api.credentials import create_scoped_token
    from saas.auth.services import create_api_token

    try:
        if scopes:
            token, secret = create_scoped_token(
                db.session, slug, email, name, scopes, api_scopes(current_app)
            )
        else:
            token, secret = create_api_token(db.session, slug, email, name)
    except SaasError as error:
        _fail(error)
    db.session.commit()
    click.echo(json.dumps({"id": str(token.id), "name": token.name, "token": secret}))


@click.command("worker", help="Run an RQ worker (with its scheduler) for the app's queues.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not start `saas scheduler` beside the worker.")
@click.option(
    "--cell",
    default="default",
    show_default=True,
    help="Serve this cell's queues only, on its Redis (run workers of a cell in its region).",
)
@with_appcontext
def worker_command(burst: bool, no_scheduler: bool, cell: str) -> None:
    from saas.cells import DEFAULT_CELL, cell_directory
    from saas.jobs import work

    try:
        cell_directory().get(cell)
    except LookupError as error:
        raise click.BadParameter(str(error), param_hint="--cell") from None
    scheduler = None
    # The periodic scheduler is the platform's: it runs beside the default cell's workers only.
    if not (burst or no_scheduler) and cell == DEFAULT_CELL:
        scheduler = subprocess.Popen([sys.executable, "-m", "saas.cli", "scheduler"], env=_service_env())
    try:
        work(burst=burst, cell=cell)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=10)


@click.command("scheduler", help="Enqueue periodic jobs when due (one active per deployment).")
@with_appcontext
def scheduler_command() -> None:
    from saas.jobs import redis_connection
    from saas.jobs.schedules import run_scheduler

    run_scheduler(redis_connection())


def _service_env() -> dict[str, str]:
    """The environment for a child process, pointing at the services this process resolved."""
    app = current_app
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
    }


DEMO = {"slug": "demo", "name": "Demo Company", "email": "demo@example.com", "password": "demo-password-1"}


@click.command("seed-demo", help="Create the demo tenant with a few records (development).")
@with_appcontext
def seed_demo() -> None:
    seed_demo_tenant()


def seed_demo_tenant() -> None:
    from saas.db import tenant_session
    from saas.modules.core import services
    from saas.tenants.models import Tenant
    from saas.tenants.provisioning import provision_tenant

    if db.session.scalar(select(Tenant).where(Tenant.slug == DEMO["slug"])):
        return
    tenant = provision_tenant(DEMO["slug"], DEMO["name"], DEMO["email"], DEMO["password"], actor="seed")
    with tenant_session(tenant.ref) as session:
        acme = services.accounts.create(session, {"name": "Acme Corporation", "domain": "acme.example"})
        globex = services.accounts.create(session, {"name": "Globex", "domain": "globex.example"})
        for first, last, account in (
            ("Ada", "Lovelace", acme),
            ("Grace", "Hopper", globex),
            ("Alan", "Turing", acme),
        ):
            email = f"{first.lower()}@{account.domain}"
            services.contacts.create(
                session, {"first_name": first, "last_name": last, "email": email, "account_id": account.id}
            )


def migrate_dev_tenants() -> list:
    """Migrate every tenant of this instance in-process (development has a handful); report failures."""
    from saas.tenants.migrations import migrate_all_tenants, record_versions
    from saas.tenants.models import Tenant

    tenants = [t.ref for t in db.session.scalars(select(Tenant).order_by(Tenant.slug))]
    results = migrate_all_tenants(tenants, jobs=1)
    record_versions(db.session, results)
    db.session.commit()
    upgraded = [r.slug for r in results if r.status == "upgraded"]
    if upgraded:
        click.echo(f"  Migrated {len(upgraded)} tenant(s) to the current schema: {', '.join(upgraded)}")
    for result in results:
        if result.status == "failed":
            click.echo(f"  Tenant {result.slug} could not be migrated: {result.error}", err=True)
    return results


@click.command("dev", help="Migrate, seed the demo tenant, run a worker and the web app (development).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def dev_command(port: int) -> None:
    # Before the app exists: building it starts the embedded services, which a taken port would waste.
    _require_free_port(port)
    app: Flask = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        _serve_development(app, port)


def _require_free_port(port: int) -> None:
    """Refuse a port something already listens on, in one line (werkzeug's own error is a traceback)."""
    with socket.socket() as probe:
        # As werkzeug binds: a port whose old connections linger in TIME_WAIT still counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise click.ClickException(
                f"Port {port} is in use: run make dev PORT={port + 1} (or saas dev --port {port + 1})"
            ) from None


def _serve_development(app: Flask, port: int) -> None:
    from werkzeug.serving import make_server

    from saas.migrations import upgrade_platform

    upgrade_platform(db.engine)
    # A dev instance from older code holds tenants at an older revision: bring every one to head first.
    migrate_dev_tenants()
    seed_demo_tenant()
    if not app.config["SAAS_SETTINGS"].s3_bucket:
        _start_embedded_s3(app)
    inbox_server = None if app.config.get("SMTP_URL") else _start_development_inbox(app)
    # Bound before the banner: werkzeug's run_simple would print its own lines after ours.
    server = make_server("127.0.0.1", port, app, threaded=True)
    worker = subprocess.Popen([sys.executable, "-m", "saas.cli", "worker"], env=_service_env())
    _wait_for_worker(worker)
    click.echo(f"\n  Open CRM is running at http://127.0.0.1:{port}/")
    click.echo(f"  Demo login: {DEMO['email']} / {DEMO['password']}  (workspace /t/{DEMO['slug']}/)")
    if inbox_server is not None:
        click.echo(f"  Mail the app sends: http://127.0.0.1:{port}/dev/inbox")
    click.echo("  Stop with Ctrl+C; `make stop` also stops the embedded PostgreSQL and Redis.\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        worker.terminate()
        worker.wait(timeout=10)
        if inbox_server is not None:
            inbox_server.stop()


def _start_development_inbox(app: Flask):
    """Every mail goes to an SMTP catcher kept in the instance folder; web app and worker alike."""
    from saas.development.inbox import INBOX_FOLDER, DevInbox, start_inbox_server

    controller, url = start_inbox_server(DevInbox(app.config["SAAS_SETTINGS"].instance_dir / INBOX_FOLDER))
    os.environ["SMTP_URL"] = url  # the worker's environment (_service_env copies os.environ)
    app.config["SMTP_URL"] = url
    return controller


def _wait_for_worker(worker: subprocess.Popen, limit: float = 60.0) -> None:
    """Until this worker has registered with Redis (so the banner is the last thing printed); a worker a
    killed run left registered does not count."""
    from rq import Worker

    from saas.jobs import redis_connection

    connection = redis_connection()
    deadline = time.monotonic() + limit
    while worker.poll() is None and time.monotonic() < deadline:
        if any(registered.pid == worker.pid for registered in Worker.all(connection=connection)):
            return
        time.sleep(0.1)


@click.command(
    "stop-embedded",
    help="Stop the embedded PostgreSQL and Redis of an instance folder and of every folder in it "
    "(dev, test, test-gw1..., bench-*). Needs no configuration.",
)
@click.argument(
    "roots", nargs=-1, type=click.Path(file_okay=False, path_type=Path), metavar="[INSTANCE_DIR]..."
)
def stop_embedded_command(roots: tuple[Path, ...]) -> None:
    from saas.embedded import stop_embedded_services

    for root in roots or (Path(os.environ.get("SAAS_INSTANCE_DIR", "instance")),):
        for line in stop_embedded_services(root):
            click.echo(line)


def _start_embedded_s3(app: Flask) -> None:
    """Exports need S3: in development, moto on loopback, shared with the worker by environment."""
    import dataclasses

    from saas.embedded import embedded_s3

    started = embedded_s3()
    if started is None:
        click.echo("  (moto is not installed: exports are off; `pip install -e '.[dev]'` turns them on)")
        return
    endpoint, bucket = started
    os.environ.update(S3_ENDPOINT_URL=endpoint, S3_BUCKET=bucket)
    app.config["SAAS_SETTINGS"] = dataclasses.replace(
        app.config["SAAS_SETTINGS"], s3_endpoint_url=endpoint, s3_bucket=bucket
    )


def _commands() -> tuple[click.Command, ...]:
    from saas.billing.cli import billing_group
    from saas.exports.cli import export_command, import_command

    return (
        db_group,
        tenants_group,
        modules_group,
        tokens_group,
        operators_group,
        worker_command,
        scheduler_command,
        seed_demo,
        dev_command,
        export_command,
        import_command,
        billing_group,
        stop_embedded_command,
    )


def register_commands(app: Flask) -> None:
    for command in _commands():
        app.cli.add_command(command)


def _create_app() -> Flask:
    from saas.app import create_app
    from saas.config import MissingSetting

    try:
        return create_app()
    except MissingSetting as error:
        raise click.ClickException(str(error)) from None


class SaasGroup(FlaskGroup):
    """The ``saas`` command. Every command is registered on the group itself, not on the app, so
    listing commands and ``--help`` never build the app (which needs configuration and starts the
    embedded services); a command builds it when it runs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for command in _commands():
            self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


cli = SaasGroup(
    create_app=_create_app, add_version_option=False, load_dotenv=False, help="Open CRM administration."
)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
