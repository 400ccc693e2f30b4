"""Tenant connections: a tenant's work runs on a connection that logged in as the tenant's own role.

Each tenant has a small pool of its own (an engine whose URL carries the tenant role and its secret).
The pools sit in an LRU with a process-wide cap on open connections and an idle timeout, so 10,000
tenants do not mean 10,000 open connections. The platform's credentials never reach these engines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from saas.errors import TenantConnectionsExhausted

if TYPE_CHECKING:
    from saas.cells import Cell
    from saas.config import Settings
    from saas.db import TenantRef

# What `encrypt_password` gives for scram-sha-256: the only text we put in an ALTER ROLE literal.
_SCRAM_VERIFIER = re.compile(r"^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")


def tenant_login_secret(key: bytes, role_name: str, version: int) -> str:
    """The password of ``role_name``: derived, never stored, different for every tenant and version."""
    digest = hmac.new(key, f"tenant-login:{role_name}:{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def scram_verifier(connection: Connection, role_name: str, secret: str, iterations: int) -> str:
    """The SCRAM-SHA-256 verifier of ``secret``, computed by libpq so the password never crosses the wire.

    ``iterations``: the secret is 256 random bits, so PBKDF2's key stretching adds no strength, while
    PostgreSQL's default of 4096 costs milliseconds on both sides of every tenant login. libpq takes
    the count from the server's ``scram_iterations`` (PostgreSQL 16+), set for this transaction only.
    """
    connection.exec_driver_sql(f"SET LOCAL scram_iterations = {int(iterations)}")
    pgconn = connection.connection.driver_connection.pgconn
    verifier = pgconn.encrypt_password(secret.encode(), role_name.encode(), b"scram-sha-256").decode()
    if not _SCRAM_VERIFIER.match(verifier):
        raise RuntimeError("libpq gave an unexpected password verifier")
    return verifier


@dataclass(frozen=True)
class TenantConnectionSettings:
    """Where tenant connections go and how many a process may hold (see the README's table)."""

    url: URL
    """The default cell's server (or PgBouncer) and database; any user and password in it are dropped."""
    secret_key: bytes
    """Derives each tenant role's password (``tenant_login_secret``)."""
    max_connections: int = 20
    per_tenant: int = 2
    max_tenants: int = 1000
    """Tenants whose engine (not connections) is kept, least recently used first out."""
    scram_iterations: int = 16
    """PBKDF2 iterations of new tenant verifiers (see ``scram_verifier``)."""
    idle_seconds: float = 300.0
    timeout: float = 10.0
    prepared_statements: bool = True
    """Off behind PgBouncer in transaction mode before 1.21, which cannot carry them."""
    cell_urls: dict[str, URL] = field(default_factory=dict)
    """Where the tenants of each other cell log in (``TenantRef.cell``), credentials dropped likewise."""

    @classmethod
    def from_url(
        cls, url: str | URL, secret_key: bytes, cell_urls: dict[str, str] | None = None, **limits: object
    ) -> TenantConnectionSettings:
        def plain(url: str | URL) -> URL:
            return make_url(url).set(username=None, password=None)

        cells = {name: plain(cell_url) for name, cell_url in (cell_urls or {}).items()}
        return cls(url=plain(url), secret_key=secret_key, cell_urls=cells, **limits)  # type: ignore[arg-type]

    @classmethod
    def from_settings(
        cls, settings: Settings, database_url: str, cells: tuple[Cell, ...] = ()
    ) -> TenantConnectionSettings:
        """As the app builds them: ``TENANT_DATABASE_URL`` (else ``database_url``), each other cell's
        ``tenant_database_url`` (else its ``database_url``) and the pool settings."""
        from saas.cells import DEFAULT_CELL
        from saas.config import tenant_login_key
        from saas.embedded import normalise_database_url

        cell_urls = {
            cell.name: normalise_database_url(cell.tenant_database_url or cell.database_url or "")
            for cell in cells
            if cell.name != DEFAULT_CELL
        }
        return cls.from_url(
            normalise_database_url(settings.tenant_database_url or database_url),
            tenant_login_key(settings),
            cell_urls,
            max_connections=settings.tenant_pool_max_connections,
            per_tenant=settings.tenant_pool_size,
            max_tenants=settings.tenant_pool_max_tenants,
            scram_iterations=settings.tenant_db_scram_iterations,
            idle_seconds=settings.tenant_pool_idle_seconds,
            timeout=settings.tenant_pool_timeout,
            prepared_statements=settings.tenant_db_prepared_statements,
        )

    def server_url(self, cell: str) -> URL:
        """Where tenants of ``cell`` log in; an undeclared cell is refused, never guessed."""
        from saas.cells import DEFAULT_CELL

        if cell in self.cell_urls:
            return self.cell_urls[cell]
        if cell == DEFAULT_CELL:
            return self.url
        raise LookupError(f"no cell {cell!r} is declared (CELLS_FILE)")

    def login_url(self, tenant: TenantRef) -> URL:
        secret = tenant_login_secret(self.secret_key, tenant.role_name, tenant.login_version)
        return self.server_url(tenant.cell).set(username=tenant.role_name, password=secret)


@dataclass
class _TenantPool:
    key: tuple[str, int, str]
    engine: Engine
    translated: Engine
    last_used: float = field(default_factory=time.monotonic)

    def open_connections(self) -> int:
        pool = self.engine.pool
        return pool.size() + pool.overflow()  # type: ignore[attr-defined]

    def busy(self) -> bool:
        return self.engine.pool.checkedout() > 0  # type: ignore[attr-defined]


class TenantPools:
    """An LRU of per-tenant pools under one cap of open connections for the whole process."""

    def __init__(self, settings: TenantConnectionSettings, schema_placeholder: str) -> None:
        self.settings = settings
        self._placeholder = schema_placeholder
        self._pools: OrderedDict[tuple[str, int, str], _TenantPool] = OrderedDict()
        self._changed = threading.Condition(threading.RLock())
        self._last_sweep = time.monotonic()

    # --- what callers use ---------------------------------------------------------------------------

    def engine_for(self, tenant: TenantRef) -> Engine:
        """The tenant's engine, its placeholder schema mapped to the tenant's schema."""
        # The cell is part of the key: a tenant moved to another cell gets a new engine there.
        key = (tenant.id, tenant.login_version, tenant.cell)
        with self._changed:
            self._sweep_idle()
            entry = self._pools.get(key)
            if entry is None:
                entry = self._pools[key] = self._new_pool(key, tenant)
                self._trim()
            self._pools.move_to_end(key)
            entry.last_used = time.monotonic()
            return entry.translated

    def open_connections(self) -> int:
        with self._changed:
            return self._count()

    def tenants_held(self) -> int:
        with self._changed:
            return len(self._pools)

    def forget_tenant(self, tenant_id: str) -> None:
        """Close a tenant's idle connections (after its secret rotated or it was purged)."""
        with self._changed:
            for key in [key for key in self._pools if key[0] == tenant_id]:
                self._pools.pop(key).engine.dispose()

    def dispose(self, *, close: bool = True) -> None:
        """Drop every pool; ``close=False`` in a forked child, whose sockets belong to the parent."""
        with self._changed:
            for entry in self._pools.values():
                entry.engine.dispose(close=close)
            self._pools.clear()

    def __iter__(self) -> Iterator[tuple[str, int, str]]:
        with self._changed:
            return iter(list(self._pools))

    # --- inside -------------------------------------------------------------------------------------

    def _new_pool(self, key: tuple[str, int, str], tenant: TenantRef) -> _TenantPool:
        settings = self.settings
        connect_args: dict[str, object] = {"application_name": f"saas:{tenant.id}"}
        if not settings.prepared_statements:
            connect_args["prepare_threshold"] = None
        engine = create_engine(
            settings.login_url(tenant),
            pool_size=settings.per_tenant,
            # A busy tenant may borrow up to the process cap; the budget below keeps the total.
            max_overflow=max(0, settings.max_connections - settings.per_tenant),
            pool_timeout=settings.timeout,
            pool_recycle=max(settings.idle_seconds, 60),
            pool_pre_ping=True,
            connect_args=connect_args,
        )
        entry = _TenantPool(
            key=key,
            engine=engine,
            translated=engine.execution_options(schema_translate_map={self._placeholder: tenant.schema_name}),
        )
        event.listen(engine, "do_connect", lambda *args: self._admit(entry))
        event.listen(engine.pool, "checkin", lambda *args: self._notify())
        return entry

    def _admit(self, entry: _TenantPool) -> None:
        """Before a new connection opens: make room under the cap, by evicting or by waiting."""
        deadline = time.monotonic() + self.settings.timeout
        with self._changed:
            # An engine handed out just before its eviction comes back into the count.
            self._pools.setdefault(entry.key, entry)
            # The pool counted the connection being opened already.
            while self._count() > self.settings.max_connections:
                if self._evict_one_idle(exclude=entry.key):
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._changed.wait(remaining):
                    raise TenantConnectionsExhausted(
                        "Too many requests at once; try again in a moment.",
                    )

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _count(self) -> int:
        return sum(entry.open_connections() for entry in self._pools.values())

    def _evict_one_idle(self, exclude: tuple[str, int, str]) -> bool:
        """Close the connections of the least recently used idle tenant; its engine stays for its return
        (no new engine, no first-connect queries then: only the login)."""
        for key, entry in self._pools.items():  # least recently used first
            if key != exclude and not entry.busy() and entry.open_connections() > 0:
                entry.engine.dispose()
                return True
        return False

    def _sweep_idle(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < min(1.0, self.settings.idle_seconds):
            return
        self._last_sweep = now
        cutoff = now - self.settings.idle_seconds
        for entry in self._pools.values():
            if entry.last_used < cutoff and not entry.busy() and entry.open_connections() > 0:
                entry.engine.dispose()

    def _trim(self) -> None:
        """Forget the least recently used idle tenants past ``max_tenants`` (engines hold memory)."""
        for key in list(self._pools):
            if len(self._pools) <= self.settings.max_tenants:
                return
            entry = self._pools[key]
            if not entry.busy():
                del self._pools[key]
                entry.engine.dispose()
