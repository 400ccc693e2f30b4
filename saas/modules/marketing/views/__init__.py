"""Marketing pages under /t/<slug>/marketing/: importing each file attaches its routes to
``blueprints.pages``."""

from saas.modules.marketing.blueprints import pages
from saas.modules.privacy.audit import commit_audit_with_response

# Audit entries of the pages' changes commit only with a successful answer.
pages.after_request(commit_audit_with_response)

import saas.modules.marketing.views.attribution  # noqa: E402
import saas.modules.marketing.views.campaigns  # noqa: E402
import saas.modules.marketing.views.forms  # noqa: E402
import saas.modules.marketing.views.segments  # noqa: E402
import saas.modules.marketing.views.settings  # noqa: E402, F401
