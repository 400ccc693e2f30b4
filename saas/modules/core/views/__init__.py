"""Core pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.core.views.bulk
import saas.modules.core.views.currencies
import saas.modules.core.views.custom_fields
import saas.modules.core.views.imports
import saas.modules.core.views.merge
import saas.modules.core.views.objects
import saas.modules.core.views.phones
import saas.modules.core.views.pickers
import saas.modules.core.views.records
import saas.modules.core.views.reports
import saas.modules.core.views.saved_views
import saas.modules.core.views.vendor_imports  # noqa: F401
