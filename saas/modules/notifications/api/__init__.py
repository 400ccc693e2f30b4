"""Notifications API resources under /api/v1/: importing each file attaches its routes to
``blueprints.api``."""

import saas.modules.notifications.api.notifications  # noqa: F401
