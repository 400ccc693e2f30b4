"""The sequences API."""

from saas.modules.sequences.api import sequences  # noqa: F401  (attaches the routes)
