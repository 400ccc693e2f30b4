"""The workflow API."""

from saas.modules.workflows.api import workflows  # noqa: F401  (attaches the routes)
