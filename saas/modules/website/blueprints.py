"""The website module's blueprints: the settings page, and the tracking script's public routes (the
script itself and the endpoint its batches go to)."""

from flask import Blueprint

pages = Blueprint("website", __name__, template_folder="templates")
tracking = Blueprint("website_tracking", __name__, static_folder="static", static_url_path="/website-static")
