"""The SSRF guard: a webhook URL may only point at public internet addresses.

Private, loopback, link-local (cloud metadata at 169.254.169.254), reserved and multicast addresses are
refused, whatever name resolves to them, and so are IPv6 forms that carry an IPv4 address (NAT64, 6to4,
Teredo, IPv4-mapped/compatible); loopback only when ``WEBHOOKS_ALLOW_LOOPBACK`` is on (tests). The name is
resolved once per check: :class:`WebhookTarget` keeps the checked addresses, the only ones delivery
connects to, so a DNS answer that changes afterwards (rebinding) is never used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from saas.errors import ValidationError
from saas.i18n import N_

MAX_URL_LENGTH = 2000

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[Address]]
"""(host name, port) -> its addresses; raises UnsafeWebhookURL when the name cannot be resolved."""

# IPv6 forms a gateway or the kernel turns into IPv4 traffic: what they reach is an IPv4 address this
# guard never saw as such (NAT64 64:ff9b::a00:1 is 10.0.0.1), so they are refused whatever they embed.
EMBEDDED_IPV4_NETWORKS = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated); also holds :: and ::1, judged before this list
    )
)


class UnsafeWebhookURL(ValidationError):
    """The URL is malformed or reaches an address the product must not call."""

    def __init__(self, reason: str) -> None:
        # The detail stays one constant sentence and the reason a whole one of its own (marked where it is
        # raised), so that a page shows both in the reader's language; the API adds the reason to the detail.
        super().__init__(N_("Webhook URL refused."), {"url": [reason]})
        self.reason = reason


@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook URL: the addresses to connect to, and the names the request must carry."""

    url: str
    scheme: str
    host: str
    """The URL's host name: what TLS sends as SNI and checks the certificate against."""
    port: int
    host_header: str
    """``Host`` as the URL gives it (with an explicit port)."""
    request_target: str
    """Path and query of the request line."""
    addresses: tuple[Address, ...]
    """Every address the name resolved to, all of them allowed."""


def address_allowed(address: Address, allow_loopback: bool) -> bool:
    """Whether the product may connect to ``address`` (webhooks, users' mail servers)."""
    if address.is_loopback:
        return allow_loopback
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in EMBEDDED_IPV4_NETWORKS):
        return False
    # is_global is False for private, link-local, shared (100.64/10), reserved, unspecified, documentation.
    return address.is_global and not address.is_multicast


def resolve_addresses(host: str, port: int) -> list[Address]:
    """The system resolver's answer for ``host`` (the default :data:`Resolver`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeWebhookURL(N_("The host name cannot be resolved.")) from error
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def vet_webhook_url(
    url: str, *, allow_loopback: bool, resolve: Resolver = resolve_addresses
) -> WebhookTarget:
    """The target of ``url`` if it is http(s) and its host resolves only to allowed addresses.

    ``resolve`` is asked once; raises UnsafeWebhookURL otherwise.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookURL(
            N_("Give an http or https URL of at most %(limit)s characters.", limit=MAX_URL_LENGTH)
        )
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeWebhookURL(N_("The URL is malformed.")) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookURL(N_("Give an http or https URL with a host name."))
    if parts.username or parts.password:
        raise UnsafeWebhookURL(N_("Credentials in the URL are not allowed."))
    addresses = tuple(dict.fromkeys(resolve(parts.hostname, port)))  # in the resolver's order, once each
    if not addresses or not all(address_allowed(a, allow_loopback) for a in addresses):
        raise UnsafeWebhookURL(N_("The host resolves to a private, loopback or link-local address."))
    return WebhookTarget(
        url=url,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        host_header=parts.netloc,
        request_target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        addresses=addresses,
    )


def check_webhook_url(url: str, *, allow_loopback: bool, resolve: Resolver = resolve_addresses) -> str:
    """``url`` if :func:`vet_webhook_url` accepts it (when subscribing: nothing is connected to yet)."""
    return vet_webhook_url(url, allow_loopback=allow_loopback, resolve=resolve).url
