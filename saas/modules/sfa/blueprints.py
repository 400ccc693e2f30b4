"""The SFA module's two blueprints; the files under ``views/`` and ``api/`` add their routes to them."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("sfa", __name__, template_folder="templates")
api = api_blueprint("sfa_api", __name__, tag="Sales")
