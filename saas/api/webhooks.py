"""The public entry to outgoing webhooks: ``saas.api.webhooks.emit(session, "ticket.created", payload)``.

The machinery lives in :mod:`saas.webhooks`; this name is the one other modules are told to call.
"""

from saas.webhooks.events import KNOWN_EVENTS, emit

__all__ = ["KNOWN_EVENTS", "emit"]
