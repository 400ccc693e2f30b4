"""The SFA module's blueprints: staff pages and API resources (the files under ``views/`` and ``api/`` add
their routes) and the public routes of quote links (``public.py``)."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("sfa", __name__, template_folder="templates")
api = api_blueprint("sfa_api", __name__, tag="Sales")
# The customer's signed quote links (saas.modules.sfa.public).
public = Blueprint("sfa_public", __name__, url_prefix="/q/<slug>", template_folder="templates")
