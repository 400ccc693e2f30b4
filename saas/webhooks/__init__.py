"""Outgoing webhooks: tenants subscribe URLs to events; ``emit`` queues signed deliveries to them.

Other code only ever calls ``emit(session, "contact.created", payload)``; everything else (signing, retries,
the delivery log, disabling a failing endpoint, the SSRF guard) lives in this package.
"""
