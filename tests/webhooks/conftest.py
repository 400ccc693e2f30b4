"""Webhook fixtures: the real loopback receiver of the API tests and the shared SMTP sink."""

from tests.api.conftest import receiver  # noqa: F401  (a fixture)
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)
