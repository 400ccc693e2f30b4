"""Files pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.files.views.files  # noqa: F401
