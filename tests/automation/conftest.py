"""Engine fixtures: the shared SMTP sink."""

from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)
