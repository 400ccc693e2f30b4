"""The SSRF guard: a webhook URL may only point at public internet addresses.

Private, loopback, link-local (cloud metadata at 169.254.169.254), reserved and multicast addresses are
refused, whatever name resolves to them; loopback only when ``WEBHOOKS_ALLOW_LOOPBACK`` is on (tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from saas.errors import ValidationError

MAX_URL_LENGTH = 2000


class UnsafeWebhookURL(ValidationError):
    """The URL is malformed or reaches an address the product must not call."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Webhook URL refused: {reason}", {"url": [reason]})
        self.reason = reason


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return allow_loopback
    # is_global is False for private, link-local, shared (100.64/10), reserved, unspecified, documentation.
    return address.is_global and not address.is_multicast


def resolve_addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeWebhookURL("the host name cannot be resolved.") from error
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_webhook_url(url: str, *, allow_loopback: bool) -> str:
    """``url`` if it is http(s) and its host resolves only to allowed addresses; else UnsafeWebhookURL."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookURL(f"give an http or https URL of at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeWebhookURL("the URL is malformed.") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookURL("give an http or https URL with a host name.")
    if parts.username or parts.password:
        raise UnsafeWebhookURL("credentials in the URL are not allowed.")
    addresses = resolve_addresses(parts.hostname, port)
    if not addresses or not all(_address_allowed(a, allow_loopback) for a in addresses):
        raise UnsafeWebhookURL("the host resolves to a private, loopback or link-local address.")
    return url
