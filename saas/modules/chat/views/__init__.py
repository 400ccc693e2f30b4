"""Live chat pages under /t/<slug>/chat: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.chat.views.inbox
import saas.modules.chat.views.settings  # noqa: F401
