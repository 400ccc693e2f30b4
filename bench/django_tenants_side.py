"""django-tenants' provisioning, timed on our PostgreSQL: run by bench/provision.py in a child process.

Not a dependency of the product: install it for the bench only, into a folder of its own, e.g.

    .venv/bin/pip install --target instance/bench-django 'Django==5.2.*' 'django-tenants==4.0.1'

and point ``--django-path`` (default ``instance/bench-django``) at it. Each tenant is a ``Client`` saved
with ``auto_create_schema``: django-tenants creates its schema and runs the tenant apps' migrations in
it (contenttypes and auth: it creates no database role and no user). Prints one JSON line of
milliseconds per tenant.

    BENCH_DATABASE_URL=postgresql://… python bench/django_tenants_side.py TENANTS
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from urllib.parse import unquote, urlsplit


def configure(database_url: str) -> None:
    import django
    from django.conf import settings

    url = urlsplit(database_url.replace("postgresql+psycopg://", "postgresql://"))
    options = dict(part.split("=", 1) for part in url.query.split("&") if "=" in part)
    shared = ["django_tenants", "dtbench", "django.contrib.contenttypes"]
    tenant = ["django.contrib.contenttypes", "django.contrib.auth"]
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django_tenants.postgresql_backend",
                "NAME": url.path.lstrip("/"),
                "USER": unquote(url.username or ""),
                "PASSWORD": unquote(url.password or ""),
                "HOST": unquote(options.get("host", url.hostname or "")),
                "PORT": str(url.port or options.get("port", "")),
            }
        },
        DATABASE_ROUTERS=("django_tenants.routers.TenantSyncRouter",),
        SHARED_APPS=shared,
        TENANT_APPS=tenant,
        INSTALLED_APPS=shared + [app for app in tenant if app not in shared],
        TENANT_MODEL="dtbench.Client",
        TENANT_DOMAIN_MODEL="dtbench.Domain",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()


def main() -> None:
    database_url, count = os.environ["BENCH_DATABASE_URL"], int(sys.argv[1])
    configure(database_url)
    from django.core.management import call_command
    from dtbench.models import Client

    call_command("migrate_schemas", "--shared", verbosity=0)
    # Its per-tenant migration log goes to stdout; the JSON line below is the last line either way.
    run = secrets.token_hex(3)
    timings, made = [], []
    for i in range(count):
        started = time.perf_counter()
        client = Client(schema_name=f"dtb_{run}_{i}", name=f"Bench {i}")
        client.save()
        timings.append((time.perf_counter() - started) * 1000)
        made.append(client)
    for client in made:
        client.delete(force_drop=True)
    print(json.dumps({"ms": timings}))


if __name__ == "__main__":
    main()
