"""The website module's pages (attached to ``blueprints.pages`` on import)."""

from saas.modules.website.views import settings  # noqa: F401
