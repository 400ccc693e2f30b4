"""An inbound SMTP server for email-to-ticket: ``python -m saas.modules.service.smtpd --port 2525``.

Mail to ``<slug>@<SERVICE_INBOUND_DOMAIN>`` becomes (or joins) a ticket of that workspace. Recipients
of an unknown workspace, another domain, or a workspace whose service module is off are refused at
RCPT time (550), so the sending server bounces the message instead of it vanishing.
"""

from __future__ import annotations

import argparse
import logging
import time

from aiosmtpd.controller import Controller
from flask import Flask

from saas.errors import SaasError
from saas.modules.service.email import deliver_to_slug, inbound_domain, tenant_for_inbound

log = logging.getLogger(__name__)


class InboundMailHandler:
    """aiosmtpd handler: checks each recipient, then files the message for each accepted one."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _slug(self, address: str) -> str | None:
        local, _, domain = address.rpartition("@")
        return local.lower() if local and domain.lower() == inbound_domain().lower() else None

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        slug = self._slug(address)
        if slug is None:
            return "550 No such mailbox here"
        with self.app.app_context():
            try:
                tenant_for_inbound(slug)
            except SaasError:
                return "550 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        with self.app.app_context():
            for address in envelope.rcpt_tos:
                try:
                    deliver_to_slug(self._slug(address) or "", raw)
                except SaasError as error:
                    log.info("inbound mail refused: %s", error.title)  # no addresses or content in logs
                    return f"550 {error.title}"
        return "250 Message accepted"


def start_server(app: Flask, host: str = "127.0.0.1", port: int = 2525) -> Controller:
    controller = Controller(InboundMailHandler(app), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:  # pragma: no cover - a long-running process
    from saas import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()
    controller = start_server(create_app(), args.host, args.port)
    log.info("inbound SMTP listening on %s:%s for *@%s", args.host, args.port, inbound_domain())
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
