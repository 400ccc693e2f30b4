"""Meetings pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.meetings.views.meetings
import saas.modules.meetings.views.settings
import saas.modules.meetings.views.teams  # noqa: F401
