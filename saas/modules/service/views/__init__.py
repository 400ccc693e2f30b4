"""Service staff pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.service.views.dashboard
import saas.modules.service.views.kb
import saas.modules.service.views.macros
import saas.modules.service.views.settings
import saas.modules.service.views.tickets  # noqa: F401
