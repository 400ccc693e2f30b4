"""The mailbox module's API resources (one file per resource)."""

from saas.modules.mailbox.api import threads  # noqa: F401  (attaches the routes)
