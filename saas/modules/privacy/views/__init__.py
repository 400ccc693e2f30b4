"""Privacy staff pages under /t/<slug>/privacy/: importing each file attaches its routes to
``blueprints.pages``. Requests, retention and branding are for owners and admins; consents for every
member."""

from flask import request

from saas.modules.privacy.audit import commit_audit_with_response
from saas.modules.privacy.blueprints import pages
from saas.tenants.routing import require_role

PRIVACY_ROLES = ("owner", "admin")
CONSENT_ENDPOINTS = ("privacy.contact_consents", "privacy.record_contact_consent", "privacy.consent_receipt")
"""Open to every member: consents are everyday CRM work."""


@pages.before_request
def _privacy_staff_only() -> None:
    # Recording a consent is everyday CRM work; requests are for the workspace's privacy staff.
    if request.endpoint not in CONSENT_ENDPOINTS:
        require_role(*PRIVACY_ROLES)


pages.after_request(commit_audit_with_response)

import saas.modules.privacy.views.branding  # noqa: E402
import saas.modules.privacy.views.consents  # noqa: E402
import saas.modules.privacy.views.labels  # noqa: E402
import saas.modules.privacy.views.processing_record  # noqa: E402
import saas.modules.privacy.views.requests  # noqa: E402
import saas.modules.privacy.views.retention  # noqa: E402, F401
