"""The marketing module's blueprints: staff pages, API resources, and the public routes of its mail
(tracking, unsubscribe) and forms; ``views/``, ``api/`` and ``public.py`` add their routes."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("marketing", __name__, template_folder="templates")
api = api_blueprint("marketing_api", __name__, tag="Marketing")
public = Blueprint("marketing_public", __name__, url_prefix="/m/<slug>", template_folder="templates")
