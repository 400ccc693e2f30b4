"""The core module's two blueprints: its pages under ``/t/<slug>/`` and its API resources under
``/api/v1/``; the files of ``views/`` and ``api/`` attach their routes to them."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("core", __name__, template_folder="templates")
api = api_blueprint("core_api", __name__, tag="Contacts and accounts")
