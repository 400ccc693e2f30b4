"""Privacy API resources under /api/v1/: importing each file attaches its routes to ``blueprints.api``."""

from saas.modules.privacy.audit import commit_audit_with_response
from saas.modules.privacy.blueprints import api

api.after_request(commit_audit_with_response)

import saas.modules.privacy.api.consents  # noqa: E402
import saas.modules.privacy.api.requests  # noqa: E402, F401
