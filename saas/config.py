"""Settings, read only from the environment (12-factor), with embedded defaults for development.

Nothing here starts a service: :mod:`saas.embedded` does that when a URL is missing.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_dir() -> Path:
    return Path(os.environ.get("SAAS_INSTANCE_DIR", "instance")).resolve()


def _secret_key(environment: str, instance_dir: Path) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if environment == "production":
        raise RuntimeError("SECRET_KEY must be set in production")
    # Development only: a random key kept in the instance folder so sessions survive restarts.
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


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
    extra: dict[str, str] = field(default_factory=dict)

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
        )
