"""Issue 17 (c): webhook deliveries connect only to the address the SSRF guard checked.

The guard and the HTTP client resolved the name separately, so a name answering a public address and
then 127.0.0.1 was delivered to loopback (DNS rebinding). IPv6 forms carrying an IPv4 address (NAT64,
6to4, Teredo, IPv4-mapped/compatible) slipped past the address check. No real DNS here: the delivery
takes its resolver as a parameter, and these tests pass one that answers as a rebinding server would.
"""

from __future__ import annotations

import ipaddress
import ssl
import uuid
from collections.abc import Iterator

import pytest
from cryptography import x509

from saas.db import tenant_session
from saas.webhooks.delivery import deliver
from saas.webhooks.events import emit
from saas.webhooks.models import WebhookDelivery, WebhookSubscription
from saas.webhooks.signing import new_secret
from saas.webhooks.ssrf import Address, UnsafeWebhookURL, check_webhook_url, vet_webhook_url
from tests.api.conftest import Receiver, running_receiver
from tests.certificates import certificate, new_key, write_pem

NAME = "hooks.rebind.test"  # .test never resolves in real DNS: only the scripted resolver answers it


class ScriptedResolver:
    """Answers each lookup with the next scripted answer (the last one repeats), as a rebinding DNS
    server would; remembers every name it was asked."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        return [ipaddress.ip_address(address) for address in answer]


def deliver_once(fixture, url: str, resolve: ScriptedResolver) -> WebhookDelivery:
    """One contact.created delivery to ``url``, attempted with ``resolve``; the delivery afterwards."""
    with tenant_session(fixture.ref) as session:
        # Stored directly: subscribing checks the name with the system resolver, which knows no .test.
        session.add(WebhookSubscription(url=url, events=["contact.created"], secret=new_secret()))
        session.flush()
        emit(session, "contact.created", {"id": "c1"})
    with tenant_session(fixture.ref) as session:
        delivery_id = session.query(WebhookDelivery.id).one()[0]
        deliver(session, str(delivery_id), resolve=resolve)
    with tenant_session(fixture.ref) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        session.expunge(delivery)
        return delivery


def named(receiver: Receiver, host: str = NAME) -> str:
    return receiver.url.replace("127.0.0.1", host)


def test_delivery_connects_to_the_address_it_checked_when_dns_rebinds(app_ctx, tenant_a, receiver):
    # Checked: 127.0.0.1 (loopback is allowed in test mode); any later lookup: cloud metadata.
    rebinding = ScriptedResolver(["127.0.0.1"], ["169.254.169.254"])
    delivery = deliver_once(tenant_a, named(receiver), rebinding)

    assert (delivery.status, delivery.last_status_code) == ("succeeded", 200), delivery.last_error
    assert rebinding.asked == [NAME]  # one lookup: the one the guard checked
    [request] = receiver.received
    assert request.headers["Host"] == f"{NAME}:{receiver.url.rsplit(':', 1)[1].split('/')[0]}"


def test_delivery_is_refused_when_the_name_answers_a_forbidden_address_at_send_time(
    app, app_ctx, tenant_a, receiver, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    delivery = deliver_once(tenant_a, named(receiver), ScriptedResolver(["93.184.215.14", "127.0.0.1"]))
    assert delivery.status == "failed" and "loopback" in delivery.last_error
    assert receiver.received == []


def test_the_check_keeps_the_first_answer_and_never_asks_again():
    rebinding = ScriptedResolver(["93.184.215.14"], ["127.0.0.1"])
    target = vet_webhook_url(f"https://{NAME}/in?x=1", allow_loopback=False, resolve=rebinding)
    assert target.addresses == (ipaddress.ip_address("93.184.215.14"),) and rebinding.asked == [NAME]
    assert (target.host, target.host_header, target.port, target.request_target) == (
        NAME,
        NAME,
        443,
        "/in?x=1",
    )


def test_the_next_checked_address_is_tried_when_one_refuses_connections(app_ctx, tenant_a, receiver):
    # Nothing listens on 127.0.0.2 at the receiver's port: connecting fails before anything is sent.
    delivery = deliver_once(tenant_a, named(receiver), ScriptedResolver(["127.0.0.2", "127.0.0.1"]))
    assert delivery.status == "succeeded" and len(receiver.received) == 1


# --- TLS: connected by address, verified and introduced by name -----------------------------------------


@pytest.fixture
def tls_receiver(app, tmp_path, monkeypatch) -> Iterator[tuple[Receiver, list[str]]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate (from a CA the delivery is told to trust) names
    only ``NAME``; with the server names clients asked for (SNI)."""
    ca_key, leaf_key = new_key(), new_key()
    ca = certificate("Webhook test CA", ca_key, ca=True)
    leaf = certificate(NAME, leaf_key, issuer=("Webhook test CA", ca_key), names=[x509.DNSName(NAME)])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(write_pem(tmp_path / "leaf.pem", leaf, leaf_key))
    server_names: list[str] = []
    context.sni_callback = lambda _socket, server_name, _context: server_names.append(server_name)
    monkeypatch.setitem(app.config, "WEBHOOK_CA_BUNDLE", str(write_pem(tmp_path / "ca.pem", ca)))
    with running_receiver(host=NAME, tls=context) as started:
        yield started, server_names


def test_tls_delivery_by_address_checks_the_certificate_against_the_host_name(
    app_ctx, tenant_a, tls_receiver
):
    receiver, server_names = tls_receiver
    delivery = deliver_once(tenant_a, receiver.url, ScriptedResolver(["127.0.0.1"], ["10.0.0.1"]))
    assert delivery.status == "succeeded", delivery.last_error
    assert server_names == [NAME] and receiver.received[0].headers["Host"].startswith(NAME + ":")


def test_tls_delivery_to_a_name_the_certificate_does_not_hold_fails(app_ctx, tenant_a, tls_receiver):
    receiver, server_names = tls_receiver
    other = f"other-{uuid.uuid4().hex[:6]}.rebind.test"
    delivery = deliver_once(tenant_a, receiver.url.replace(NAME, other), ScriptedResolver(["127.0.0.1"]))
    assert delivery.status == "failed" and delivery.last_error == "SSLError"
    assert server_names == [other] and receiver.received == []


# --- IPv4 addresses inside IPv6 forms -------------------------------------------------------------------


EMBEDDED_IPV4 = [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::5db8:d70e",  # NAT64 of a public address: still IPv4 the guard never judged
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:5db8:d70e::1",  # 6to4 of a public address
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:93.184.215.14",  # IPv4-mapped public
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
]


@pytest.mark.parametrize("address", EMBEDDED_IPV4)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_ipv4_embedded_in_ipv6_is_refused_literal_or_resolved(address, allow_loopback):
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url(f"http://[{address}]/hook", allow_loopback=allow_loopback)
    with pytest.raises(UnsafeWebhookURL):
        check_webhook_url(
            f"https://{NAME}/hook", allow_loopback=allow_loopback, resolve=ScriptedResolver([address])
        )


def test_plain_public_ipv6_is_still_allowed():
    assert check_webhook_url("https://[2606:2800:220:1:248:1893:25c8:1946]/hook", allow_loopback=False)
