"""Service API resources under /api/v1/: importing each file attaches its routes to ``blueprints.api``."""

import saas.modules.service.api.kb
import saas.modules.service.api.macros
import saas.modules.service.api.queues
import saas.modules.service.api.sla
import saas.modules.service.api.tickets  # noqa: F401
