"""The privacy module's blueprints: staff pages under ``/t/<slug>/privacy/`` and API resources under
``/api/v1/``; ``views/`` and ``api/`` add their routes (the customer hub is ``hub.py``'s own)."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("privacy", __name__, template_folder="templates")
api = api_blueprint("privacy_api", __name__, tag="Privacy")
