"""Meetings API resources under /api/v1/: importing each file attaches its routes to ``blueprints.api``."""

import saas.modules.meetings.api.meetings  # noqa: F401
