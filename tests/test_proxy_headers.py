"""Behind a load balancer: TRUSTED_PROXY_HOPS decides whether X-Forwarded-For/-Proto/-Host are believed,
for the pages' and the API's rate limits, the audit log and absolute URLs alike."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.password_reset import make_reset_token
from saas.auth.services import find_user_by_email
from saas.config import Settings
from saas.db import db
from saas.extensions import limiter
from saas.jobs import make_worker
from tests.auth.conftest import configure_sso, query_of
from tests.auth.oidc_provider import OidcProvider
from tests.conftest import bearer, csrf_token_from, make_token
from tests.mailsink import MailSink, start_sink

BALANCER = {"REMOTE_ADDR": "10.0.0.2"}


def random_address(prefix: str = "198.51.100") -> str:
    return f"{prefix}.{uuid.uuid4().int % 250 + 1}"


@pytest.fixture(autouse=True)
def clean_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_RATE_LIMIT", "1000 per minute")
    monkeypatch.setitem(app.config, "PASSWORD_RESET_EMAIL_RATE_LIMIT", "1000 per minute")
    yield
    limiter.reset()


@pytest.fixture
def sink(app, monkeypatch):
    handler = MailSink()
    controller, url = start_sink(handler)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    yield handler
    controller.stop()


@pytest.fixture
def hops(app, monkeypatch):
    def trust(count: int) -> None:
        monkeypatch.setitem(app.config, "TRUSTED_PROXY_HOPS", count)
        monkeypatch.setitem(app.config, "API_TRUSTED_PROXIES", 0)

    return trust


def failed_sign_in(client, forwarded: str):
    headers = {"X-Forwarded-For": forwarded}
    page = client.get("/login", headers=headers, environ_base=BALANCER)
    data = {"email": "nobody@example.com", "password": "wrong-password-123"}
    return client.post(
        "/login",
        data={**data, "csrf_token": csrf_token_from(page.text)},
        headers=headers,
        environ_base=BALANCER,
    )


def test_one_trusted_hop_limits_sign_ins_per_forwarded_client(app, app_ctx, client, hops, monkeypatch):
    hops(1)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    client_ip = random_address()
    # The client's own first entries are not believed: only the balancer's (last) one counts.
    codes = [failed_sign_in(client, f"{n}.{n}.{n}.{n}, {client_ip}").status_code for n in (1, 2, 3)]
    assert codes == [200, 200, 429]  # a failed sign-in re-renders its form (200); the third is limited
    assert failed_sign_in(client, random_address("192.0.2")).status_code == 200


def test_without_trusted_hops_a_forwarded_address_gains_nothing(app, app_ctx, client, hops, monkeypatch):
    hops(0)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    codes = [failed_sign_in(client, random_address()).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def reset_with_headers(client, email: str, headers: dict[str, str]) -> None:
    path = f"/password/reset/{make_reset_token(find_user_by_email(db.session, email))}"
    page = client.get(path, headers=headers, environ_base=BALANCER)
    data = {"password": "a-brand-new-passphrase", "confirm": "a-brand-new-passphrase"}
    done = client.post(
        path, data={**data, "csrf_token": csrf_token_from(page.text)}, headers=headers, environ_base=BALANCER
    )
    assert done.status_code == 302, done.text


def audited_address(email: str) -> str | None:
    user_id = str(find_user_by_email(db.session, email).id)
    return db.session.scalars(
        select(AuditEntry.ip).where(AuditEntry.target == user_id, AuditEntry.action == "user.password_reset")
    ).one()


@pytest.mark.parametrize(("trusted", "expected"), [(1, "forwarded"), (0, "balancer")])
def test_the_audit_log_records_the_forwarded_client_only_behind_trusted_hops(
    client, tenant_a, hops, trusted, expected
):
    hops(trusted)
    client_ip = random_address()
    reset_with_headers(client, tenant_a.email, {"X-Forwarded-For": client_ip})
    assert audited_address(tenant_a.email) == (client_ip if expected == "forwarded" else "10.0.0.2")


@pytest.mark.parametrize(("trusted", "site"), [(1, "https://crm.example.com"), (0, "http://localhost")])
def test_mailed_links_use_the_forwarded_scheme_and_host_only_behind_trusted_hops(
    client,
    tenant_a,
    hops,
    sink,
    trusted,
    site,
):
    hops(trusted)
    headers = {
        "X-Forwarded-For": random_address(),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "crm.example.com",
    }
    page = client.get("/password/forgot", headers=headers, environ_base=BALANCER)
    # Over HTTPS the CSRF check also wants the site's own Referer, which browsers send.
    headers["Referer"] = f"{site}/password/forgot"
    asked = client.post(
        "/password/forgot",
        data={"email": tenant_a.email, "csrf_token": csrf_token_from(page.text)},
        headers=headers,
        environ_base=BALANCER,
    )
    assert asked.status_code == 200
    make_worker().work(burst=True)
    [message] = sink.to(tenant_a.email)
    assert re.search(rf"{re.escape(site)}/password/reset/\S+", message.get_content())


def test_the_api_limiter_counts_the_same_forwarded_client_once(app, client, tenant_a, hops, monkeypatch):
    hops(1)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_IP", "2/minute")
    token = bearer(make_token(tenant_a))
    client_ip = random_address()

    def call(forwarded: str):
        return client.get(
            "/api/v1/contacts", headers={**token, "X-Forwarded-For": forwarded}, environ_base=BALANCER
        )

    # Hops counted once, by the proxy fix: the client's forged entries never become its address.
    assert [call(f"{n}.{n}.{n}.{n}, {client_ip}").status_code for n in (1, 2, 3)] == [200, 200, 429]
    assert call(random_address("192.0.2")).status_code == 200


def test_the_setting_comes_from_the_environment_under_its_new_or_old_name(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXY_HOPS", raising=False)
    monkeypatch.delenv("API_TRUSTED_PROXIES", raising=False)
    assert Settings.from_environment().trusted_proxy_hops == 0
    monkeypatch.setenv("API_TRUSTED_PROXIES", "2")
    assert Settings.from_environment().trusted_proxy_hops == 2
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    assert Settings.from_environment().trusted_proxy_hops == 1


def test_allowed_hosts_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    assert Settings.from_environment().allowed_hosts is None
    monkeypatch.setenv("ALLOWED_HOSTS", "crm.example.com, .crm.example.com")
    assert Settings.from_environment().allowed_hosts == ("crm.example.com", ".crm.example.com")


@pytest.mark.parametrize("trusted", [0, 1])
def test_a_forged_host_cannot_aim_a_reset_link_elsewhere(
    app, client, tenant_a, hops, sink, trusted, monkeypatch
):
    hops(trusted)
    monkeypatch.setitem(app.config, "ALLOWED_HOSTS", ["localhost"])
    page = client.get("/password/forgot")
    forged = {"X-Forwarded-Host": "evil.example"} if trusted else {"Host": "evil.example"}
    asked = client.post(
        "/password/forgot",
        data={"email": tenant_a.email, "csrf_token": csrf_token_from(page.text)},
        headers=forged,
        environ_base=BALANCER,
    )
    assert asked.status_code == 400
    make_worker().work(burst=True)
    assert sink.to(tenant_a.email) == []


def test_health_checks_answer_whatever_host_the_balancer_names(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOWED_HOSTS", ["crm.example.com"])
    assert client.get("/healthz", headers={"Host": "10.0.3.17:8000"}).status_code == 200
    assert client.get("/login", headers={"Host": "10.0.3.17:8000"}).status_code == 400
    assert client.get("/login", headers={"Host": "crm.example.com"}).status_code == 200


def test_the_web_tasks_behind_the_alb_trust_exactly_one_hop():
    from tests.infra.test_terraform import MODULES, parse

    locals_ = parse(MODULES / "ecs" / "main.tf")["locals"]
    [web_environment] = [block["web_environment"] for block in locals_ if "web_environment" in block]
    assert web_environment["TRUSTED_PROXY_HOPS"] == "1"


@pytest.fixture(scope="module")
def provider():
    identity_provider = OidcProvider()
    identity_provider.start()
    yield identity_provider
    identity_provider.stop()


def test_the_sso_callback_url_follows_the_forwarded_scheme_and_host(client, tenant_a, hops, provider):
    hops(1)
    configure_sso(provider, tenant_a)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.example.com"}
    page = client.get(f"/t/{tenant_a.slug}/login", headers=headers, environ_base=BALANCER)
    started = client.post(
        f"/t/{tenant_a.slug}/login/sso",
        data={"csrf_token": csrf_token_from(page.text)},
        headers={**headers, "Referer": f"https://crm.example.com/t/{tenant_a.slug}/login"},
        environ_base=BALANCER,
    )
    assert started.status_code == 302, started.text
    redirect_uri = query_of(started.headers["Location"])["redirect_uri"]
    assert redirect_uri == f"https://crm.example.com/t/{tenant_a.slug}/login/callback"
