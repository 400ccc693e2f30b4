"""The sequences module's blueprints: pages under /t/<slug>/ and the API under /api/v1/."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("sequences", __name__, template_folder="templates")
api = api_blueprint("sequences_api", __name__, tag="Sequences")
