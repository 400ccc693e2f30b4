"""The mailbox module's staff pages: the member's mailbox settings, threads, writing and replying."""

from saas.modules.mailbox.views import mailbox, oauth, threads  # noqa: F401  (attach the routes)
