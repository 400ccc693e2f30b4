"""The meetings module's blueprints: staff pages under /t/<slug>/, API resources under /api/v1/, and
the public booking pages under /b/<slug>/ (with their one script)."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("meetings", __name__, template_folder="templates")
api = api_blueprint("meetings_api", __name__, tag="Meetings")
booking = Blueprint(
    "booking",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/booking-static",
)
