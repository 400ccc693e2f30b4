"""Customer-hub sign-in links (once the privacy center's and the portal's) are limited per email address
asked for, not only per client address: one victim's inbox cannot be flooded from many client addresses
(finding i)."""

from __future__ import annotations

import pytest

from saas.jobs import make_worker
from tests.privacy.conftest import add_contact
from tests.security.conftest import LINK_DOORS, ask_for_link, without_csrf_tokens

LIMIT_SETTINGS = {"customer_hub": "PRIVACY_LINK_EMAIL_RATE_LIMIT"}
CLIENTS = ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4")


def _ask_from_four_clients(app, client, door: str, slug: str, email: str, how: str):
    responses = []
    for address in CLIENTS:
        if how == "forwarded_for":  # behind one trusted proxy that saw each client
            options = {"headers": {"X-Forwarded-For": address}, "environ_base": {"REMOTE_ADDR": "10.0.0.9"}}
        else:
            options = {"environ_base": {"REMOTE_ADDR": address}}
        responses.append(ask_for_link(client, door, slug, email, **options))
    make_worker().work(burst=True)
    return responses


@pytest.mark.parametrize("how", ["remote_addr", "forwarded_for"])
@pytest.mark.parametrize("door", sorted(LINK_DOORS))
def test_one_address_asked_for_from_four_clients_gets_only_the_allowed_mails(
    app, client, tenant_a, mail_sink, monkeypatch, door, how
):
    monkeypatch.setitem(app.config, LIMIT_SETTINGS[door], "2 per hour")
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_HOPS", 1 if how == "forwarded_for" else 0)
    add_contact(tenant_a, first_name="Vic", email="victim@example.com")

    responses = _ask_from_four_clients(app, client, door, tenant_a.slug, "victim@example.com", how)

    assert len(mail_sink.to("victim@example.com")) == 2
    # Past the limit the page is the very same: the limit tells nothing either.
    assert {r.status_code for r in responses} == {200}
    assert len({without_csrf_tokens(r.text) for r in responses}) == 1


@pytest.mark.parametrize("door", sorted(LINK_DOORS))
def test_the_email_limit_is_per_address_and_per_workspace(
    app, client, tenant_a, tenant_b, mail_sink, monkeypatch, door
):
    monkeypatch.setitem(app.config, LIMIT_SETTINGS[door], "1 per hour")
    monkeypatch.setitem(app.config, "PRIVACY_LINK_RATE_LIMIT", "1000 per minute")  # one client asks 6 times
    for tenant in (tenant_a, tenant_b):
        add_contact(tenant, first_name="Vic", email="victim@example.com")
        add_contact(tenant, first_name="Oli", email="other@example.com")
    for tenant in (tenant_a, tenant_b):
        for email in ("victim@example.com", "Victim@Example.com", "other@example.com"):
            ask_for_link(client, door, tenant.slug, email)
    make_worker().work(burst=True)
    # One each per workspace: the differently written copy of the address counted against the first.
    assert len(mail_sink.to("victim@example.com")) == 2
    assert len(mail_sink.to("other@example.com")) == 2
