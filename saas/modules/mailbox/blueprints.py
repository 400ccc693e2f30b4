"""The mailbox module's blueprints: staff pages under /t/<slug>/, API resources under /api/v1/, and the
public routes: open/click tracking under /mt/<slug>/, and the one OAuth redirect address every
workspace shares (an operator registers a single address at each provider)."""

from flask import Blueprint

from saas.api import api_blueprint

pages = Blueprint("mailbox", __name__, template_folder="templates")
api = api_blueprint("mailbox_api", __name__, tag="Mailbox")
public = Blueprint("mailbox_public", __name__)
