"""Language fixtures: the shared SMTP sink, so mail is read in the language it went out in."""

from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)
