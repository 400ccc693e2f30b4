"""Webhook fixtures: the real loopback receiver of the API tests and the shared SMTP sink."""

from tests.api.conftest import no_jobs_left_behind, receiver  # noqa: F401  (fixtures)
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)
