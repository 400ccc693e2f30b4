"""The service module's blueprints: staff pages, API, and the public portal (with the inbound-mail hook)."""

from flask import Blueprint

from saas.api import api_blueprint
from saas.modules.privacy.audit import commit_audit_with_response

pages = Blueprint("service", __name__, template_folder="templates")
api = api_blueprint("service_api", __name__, tag="Service")
portal = Blueprint(
    "service_portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/portal-static",
)

for _blueprint in (pages, api):
    # Audit entries of admin changes commit only with a successful answer.
    _blueprint.after_request(commit_audit_with_response)
