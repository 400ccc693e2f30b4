"""The workflow pages: the list, the editor (trigger, conditions, a step list), and each one's runs."""

from saas.modules.workflows.views import workflows  # noqa: F401  (attaches the routes)
