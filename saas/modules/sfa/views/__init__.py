"""SFA pages under /t/<slug>/: importing each file attaches its routes to ``blueprints.pages``."""

import saas.modules.sfa.views.analytics
import saas.modules.sfa.views.deals
import saas.modules.sfa.views.forecast
import saas.modules.sfa.views.kanban
import saas.modules.sfa.views.leads
import saas.modules.sfa.views.merge
import saas.modules.sfa.views.pipelines
import saas.modules.sfa.views.products
import saas.modules.sfa.views.quotes
import saas.modules.sfa.views.tasks  # noqa: F401
