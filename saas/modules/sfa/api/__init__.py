"""SFA API resources under /api/v1/: importing each file attaches its routes to ``blueprints.api``."""

import saas.modules.sfa.api.activities
import saas.modules.sfa.api.analytics
import saas.modules.sfa.api.deals
import saas.modules.sfa.api.forecast
import saas.modules.sfa.api.leads
import saas.modules.sfa.api.merge
import saas.modules.sfa.api.pipelines
import saas.modules.sfa.api.products
import saas.modules.sfa.api.quotes
import saas.modules.sfa.api.tasks  # noqa: F401
