"""Per-tenant connection pools: under a process-wide cap, least recently used evicted, idle ones closed."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import text

from saas.db import TENANT_SCHEMA_PLACEHOLDER, db, tenant_pools
from saas.errors import TenantConnectionsExhausted
from saas.tenant_connections import TenantPools


def _pools(**limits) -> TenantPools:
    return TenantPools(replace(tenant_pools().settings, **limits), TENANT_SCHEMA_PLACEHOLDER)


def _whoami(pools: TenantPools, fixture) -> str:
    with pools.engine_for(fixture.ref).connect() as connection:
        return connection.execute(text("SELECT current_user")).scalar()


def _server_connections(fixtures) -> int:
    """Connections PostgreSQL holds for these tenants' roles right now."""
    names = [f.ref.role_name for f in fixtures]
    with db.engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(:names)"), {"names": names}
        ).scalar()


def _settled_server_connections(fixtures, at_most: int) -> int:
    """``_server_connections`` once it is at most ``at_most``, or after 5 s: a server process ends a
    moment after its client closed the connection (longer on a busy machine), so it may still be listed."""
    deadline = time.monotonic() + 5
    while (count := _server_connections(fixtures)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_many_tenants_share_a_capped_number_of_open_connections(make_tenant):
    tenants = [make_tenant("pool") for _ in range(5)]
    pools = _pools(max_connections=2, per_tenant=1)
    try:
        for _ in range(2):
            for fixture in tenants:
                assert _whoami(pools, fixture) == fixture.ref.role_name
                assert pools.open_connections() <= 2
                assert _settled_server_connections(tenants, at_most=2) <= 2
    finally:
        pools.dispose()
    assert _settled_server_connections(tenants, at_most=0) == 0


def test_a_busy_process_refuses_a_new_tenant_connection_after_the_timeout(make_tenant):
    first, second = make_tenant("busy"), make_tenant("waits")
    pools = _pools(max_connections=1, per_tenant=1, timeout=0.2)
    try:
        with pools.engine_for(first.ref).connect() as held:
            held.execute(text("SELECT 1"))
            with pytest.raises(TenantConnectionsExhausted):
                _whoami(pools, second)
        # Once the first tenant's connection is idle, it is evicted for the second.
        assert _whoami(pools, second) == second.ref.role_name
        assert pools.open_connections() == 1
    finally:
        pools.dispose()


def test_a_waiting_tenant_gets_a_connection_as_soon_as_one_is_released(make_tenant):
    first, second = make_tenant("holds"), make_tenant("next")
    pools = _pools(max_connections=1, per_tenant=1, timeout=10)

    def hold_briefly() -> None:
        with pools.engine_for(first.ref).connect() as held:
            held.execute(text("SELECT 1"))
            started.set()
            time.sleep(0.3)

    started = threading.Event()
    holder = threading.Thread(target=hold_briefly)
    holder.start()
    try:
        started.wait(5)
        # Under the cap of one, this can only succeed once the first connection is back and evicted.
        assert _whoami(pools, second) == second.ref.role_name
        assert pools.tenants_held() == 1 and pools.open_connections() == 1
    finally:
        holder.join()
        pools.dispose()


def test_idle_tenant_pools_are_closed(make_tenant):
    first, second = make_tenant("idle"), make_tenant("active")
    pools = _pools(max_connections=4, per_tenant=1, idle_seconds=0)
    try:
        _whoami(pools, first)
        assert _server_connections([first]) == 1
        _whoami(pools, second)  # any use sweeps the pools idle past their time
        assert _settled_server_connections([first], at_most=0) == 0
        # The engine stays for the tenant's return; only its connection was closed.
        assert pools.tenants_held() == 2
        assert _whoami(pools, first) == first.ref.role_name
    finally:
        pools.dispose()


def test_engines_of_the_least_recently_used_tenants_are_forgotten_past_max_tenants(make_tenant):
    tenants = [make_tenant("lru") for _ in range(3)]
    pools = _pools(max_connections=4, per_tenant=1, max_tenants=2)
    try:
        for fixture in tenants:
            _whoami(pools, fixture)
        assert pools.tenants_held() == 2
        held = {tenant_id for tenant_id, _version, _cell in pools}
        assert tenants[0].ref.id not in held and tenants[2].ref.id in held
        assert _settled_server_connections(tenants[:1], at_most=0) == 0
        assert _whoami(pools, tenants[0]) == tenants[0].ref.role_name
    finally:
        pools.dispose()
