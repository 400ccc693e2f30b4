"""Core API resources under /api/v1/: importing each file attaches its routes to ``blueprints.api``."""

import saas.modules.core.api.bulk
import saas.modules.core.api.currencies
import saas.modules.core.api.custom_fields
import saas.modules.core.api.imports
import saas.modules.core.api.merge
import saas.modules.core.api.objects
import saas.modules.core.api.phones
import saas.modules.core.api.records
import saas.modules.core.api.reports
import saas.modules.core.api.saved_views
import saas.modules.core.api.vendor_imports  # noqa: F401
