"""The chat module's blueprints: the agents' pages, and the widget's public routes (with the static
files of both)."""

from flask import Blueprint
from flask_cors import CORS

pages = Blueprint("chat", __name__, template_folder="templates")
widget = Blueprint(
    "chat_widget",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/chat-static",
)

# The widget runs on the workspace's own website: its routes answer any origin, without cookies (the
# visitor proves a chat with its token). Only this blueprint: every other page keeps the same-origin rule.
CORS(
    widget,
    origins="*",
    send_wildcard=True,
    methods=["GET", "POST"],
    allow_headers=["Content-Type", "X-Chat-Token"],
    supports_credentials=False,
    max_age=600,
)
