"""The files module's blueprints: staff pages under /t/<slug>/ and API resources under /api/v1/."""

from flask import Blueprint, request

from saas.api import api_blueprint

pages = Blueprint("files", __name__, template_folder="templates")
api = api_blueprint("files_api", __name__, tag="Files")


def _allow_upload_bodies(endpoint: str | None, values: dict | None) -> None:
    """Uploads may be larger than the app's general body cap; Werkzeug still refuses a body over the
    file limit before reading it, and spools what it reads to a temporary file past 500 KB. A URL
    preprocessor, because it must run before any ``before_request`` (the CSRF check) reads the form."""
    from saas.modules.files.services import upload_limit_bytes

    if request.method == "POST":
        request.max_content_length = upload_limit_bytes()


for _blueprint in (pages, api):
    _blueprint.url_value_preprocessor(_allow_upload_bodies)
