"""Marketing API resources under /api/v1/marketing/: importing each file attaches its routes to
``blueprints.api``."""

from saas.modules.marketing.blueprints import api
from saas.modules.privacy.audit import commit_audit_with_response

# Audit entries (schedule, cancel, settings) commit only with a successful answer.
api.after_request(commit_audit_with_response)

import saas.modules.marketing.api.campaigns  # noqa: E402
import saas.modules.marketing.api.forms  # noqa: E402
import saas.modules.marketing.api.segments  # noqa: E402
import saas.modules.marketing.api.settings  # noqa: E402, F401
