"""Notification pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.notifications.views.notifications  # noqa: F401
