"""Pages of the sequences module."""

from saas.modules.sequences.views import sequences  # noqa: F401  (attaches the routes)
