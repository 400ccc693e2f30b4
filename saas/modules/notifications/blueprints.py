"""The notifications module's blueprints: the centre under /t/<slug>/ and API resources under /api/v1/."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("notifications", __name__, template_folder="templates")
api = api_blueprint("notifications_api", __name__, tag="Notifications")
