"""Settings, read only from the environment (12-factor), with embedded defaults for development.

Nothing here starts a service: :mod:`saas.embedded` does that when a URL is missing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from saas.cells import Cell, read_cells_file


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _names(name: str) -> tuple[str, ...] | None:
    """A comma-separated list from the environment; unset or empty: ``None``."""
    names = tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())
    return names or None


class MissingSetting(RuntimeError):
    """A setting production requires is not set; its message tells the operator what to set, in one line."""


def _instance_dir() -> Path:
    return Path(os.environ.get("SAAS_INSTANCE_DIR", "instance")).resolve()


def _secret_key(environment: str, instance_dir: Path) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if environment == "production":
        raise MissingSetting(
            "SECRET_KEY is not set: export SECRET_KEY=<a long random string> "
            "(or SAAS_ENV=development for a local instance under ./instance)"
        )
    # Development only: a random key kept in the instance folder so sessions survive restarts.
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


TUNABLES = (
    "SIGNUP_RATE_LIMIT",
    "SIGNUP_EMAIL_RATE_LIMIT",
    "PRIVACY_LINK_RATE_LIMIT",
    "PRIVACY_LINK_EMAIL_RATE_LIMIT",
    "PORTAL_LINK_EMAIL_RATE_LIMIT",
    "PASSWORD_RESET_RATE_LIMIT",
    "PASSWORD_RESET_EMAIL_RATE_LIMIT",
    "TWO_FACTOR_RATE_LIMIT",
    "OPERATOR_MOVE_RATE_LIMIT",
    "MARKETING_PUBLIC_RATE_LIMIT",
    "MARKETING_BATCH_SIZE",
    "MARKETING_SNAPSHOT_WORK_MEM_MB",
    "MARKETING_RETRY_SECONDS",
    "WORKFLOW_ENROLMENTS_PER_HOUR",
    "WORKFLOW_MAX_STEPS_PER_RUN",
    "IMPORT_STALLED_SECONDS",
    "BOOKING_PAGE_RATE_LIMIT",
    "BOOKING_RATE_LIMIT",
    "BOOKING_EMAIL_RATE_LIMIT",
    "CALDAV_ALLOW_LOOPBACK",
    "WEBSITE_EVENTS_RATE_LIMIT",
    "WEBSITE_WORKSPACE_RATE_LIMIT",
    "CELL_MOVE_GRACE_HOURS",
)
"""Feature settings read from the app config, with their defaults where they are used."""


def tenant_login_key(settings: Settings) -> bytes:
    """The key tenant roles' passwords are derived from: its own setting, else derived from SECRET_KEY."""
    if settings.tenant_db_secret_key:
        return settings.tenant_db_secret_key.encode()
    return hmac.new(settings.secret_key.encode(), b"tenant database logins", hashlib.sha256).digest()


@dataclass(frozen=True)
class Settings:
    environment: str
    instance_dir: Path
    database_url: str | None
    redis_url: str | None
    secret_key: str
    session_cookie_secure: bool
    login_rate_limit: str
    db_pool_size: int
    # Billing is off (everything entitled) unless a Stripe key is set.
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    # Tenant exports: an S3 bucket (moto on loopback in development and tests).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_sse: str = "aws:kms"
    s3_kms_key_id: str | None = None
    export_link_seconds: int = 900
    export_stale_seconds: int = 600
    # Tenant schemas built ahead of signups (saas/tenants/pool.py); 0: every signup builds its own.
    ready_schema_pool_size: int = 0
    export_role_principal: str | None = None
    """Our task role's ARN, which a customer's role for exports to their own bucket must trust."""
    # Archive imports: refused from the ZIP's directory, before any entry is inflated (zip bombs).
    import_max_bytes: int = 20 * 1024**3
    """Largest total uncompressed size of an archive's entries."""
    import_max_entries: int = 10_000
    """Most entries (files) an archive may hold."""
    import_max_ratio: int = 200
    """Highest uncompressed/compressed ratio of an entry larger than 1 MiB (a zip bomb's is near 1000)."""
    # Files on records (saas/modules/files): stored in the same bucket, under files/<tenant id>/.
    files_max_bytes: int = 25 * 1024**2
    """Largest single file an upload or an inbound mail may store."""
    files_workspace_max_bytes: int = 10 * 1024**3
    """Most bytes of files one workspace may hold in all."""
    files_link_seconds: int = 300
    """Lifetime of a signed download link."""
    # Outgoing mail (privacy-center links...); none configured means mail is disabled and logged as such.
    smtp_url: str | None = None
    # CA bundle that verifies the SMTP server's certificate (a private CA); none: the system's CAs.
    smtp_ca_file: str | None = None
    mail_from: str = "no-reply@localhost"
    # Proxies in front of the app (an ALB: 1) whose X-Forwarded-For/-Proto/-Host entries are believed.
    trusted_proxy_hops: int = 0
    # Host names the site answers to (others get 400), so a forged Host cannot aim mailed links elsewhere.
    allowed_hosts: tuple[str, ...] | None = None
    # Tenant connections log in as the tenant's own role (saas/tenant_connections.py).
    tenant_database_url: str | None = None
    tenant_db_secret_key: str | None = None
    tenant_pool_max_connections: int = 20
    tenant_pool_size: int = 2
    tenant_pool_max_tenants: int = 1000
    tenant_db_scram_iterations: int = 16
    tenant_pool_idle_seconds: float = 300.0
    tenant_pool_timeout: float = 10.0
    tenant_db_prepared_statements: bool = True
    cells: tuple[Cell, ...] = ()
    """Cells declared in ``CELLS_FILE`` (saas/cells.py); the default cell is always there besides."""
    extra: dict[str, str] = field(default_factory=dict)
    """Tunables of single features (``TUNABLES``) set in the environment, copied into the app config."""

    @classmethod
    def from_environment(cls) -> Settings:
        environment = os.environ.get("SAAS_ENV", "production")
        instance_dir = _instance_dir()
        return cls(
            environment=environment,
            instance_dir=instance_dir,
            database_url=os.environ.get("DATABASE_URL") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
            secret_key=_secret_key(environment, instance_dir),
            session_cookie_secure=_flag("SESSION_COOKIE_SECURE", environment == "production"),
            login_rate_limit=os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
            db_pool_size=int(os.environ.get("DB_POOL_SIZE", "5")),
            s3_bucket=os.environ.get("S3_BUCKET") or None,
            s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
            s3_region=os.environ.get("AWS_REGION", "us-east-1"),
            s3_sse=os.environ.get("S3_SSE", "aws:kms"),
            s3_kms_key_id=os.environ.get("S3_KMS_KEY_ID") or None,
            export_link_seconds=int(os.environ.get("EXPORT_LINK_SECONDS", "900")),
            export_stale_seconds=int(os.environ.get("EXPORT_STALE_SECONDS", "600")),
            # Off in tests by default, so a test's tenants are built the way its test expects.
            ready_schema_pool_size=int(
                os.environ.get("READY_SCHEMA_POOL_SIZE", "0" if environment == "test" else "3")
            ),
            export_role_principal=os.environ.get("EXPORT_ROLE_PRINCIPAL") or None,
            import_max_bytes=int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024**3))),
            import_max_entries=int(os.environ.get("IMPORT_MAX_ENTRIES", "10000")),
            import_max_ratio=int(os.environ.get("IMPORT_MAX_RATIO", "200")),
            files_max_bytes=int(os.environ.get("FILES_MAX_BYTES", str(25 * 1024**2))),
            files_workspace_max_bytes=int(os.environ.get("FILES_WORKSPACE_MAX_BYTES", str(10 * 1024**3))),
            files_link_seconds=int(os.environ.get("FILES_LINK_SECONDS", "300")),
            stripe_api_key=os.environ.get("STRIPE_API_KEY") or None,
            stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=os.environ.get("STRIPE_API_BASE") or None,
            smtp_url=os.environ.get("SMTP_URL") or None,
            smtp_ca_file=os.environ.get("SMTP_CA_FILE") or None,
            mail_from=os.environ.get("MAIL_FROM", "no-reply@localhost"),
            # API_TRUSTED_PROXIES is the setting's older name, from when only the API limiter used it.
            trusted_proxy_hops=int(
                os.environ.get("TRUSTED_PROXY_HOPS") or os.environ.get("API_TRUSTED_PROXIES") or "0"
            ),
            allowed_hosts=_names("ALLOWED_HOSTS"),
            tenant_database_url=os.environ.get("TENANT_DATABASE_URL") or None,
            tenant_db_secret_key=os.environ.get("TENANT_DB_SECRET_KEY") or None,
            tenant_pool_max_connections=int(os.environ.get("TENANT_POOL_MAX_CONNECTIONS", "20")),
            tenant_pool_size=int(os.environ.get("TENANT_POOL_SIZE", "2")),
            tenant_pool_max_tenants=int(os.environ.get("TENANT_POOL_MAX_TENANTS", "1000")),
            tenant_db_scram_iterations=int(os.environ.get("TENANT_DB_SCRAM_ITERATIONS", "16")),
            tenant_pool_idle_seconds=float(os.environ.get("TENANT_POOL_IDLE_SECONDS", "300")),
            tenant_pool_timeout=float(os.environ.get("TENANT_POOL_TIMEOUT", "10")),
            tenant_db_prepared_statements=_flag("TENANT_DB_PREPARED_STATEMENTS", True),
            cells=read_cells_file(Path(os.environ["CELLS_FILE"])) if os.environ.get("CELLS_FILE") else (),
            extra={name: os.environ[name] for name in TUNABLES if os.environ.get(name)},
        )
