"""The workflows module's blueprints: pages under /t/<slug>/, the API under /api/v1/, and the open pixel
of workflow emails under /wf/<slug>/."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("workflows", __name__, template_folder="templates")
api = api_blueprint("workflows_api", __name__, tag="Workflows")
public = Blueprint("workflows_public", __name__, url_prefix="/wf/<slug>")
