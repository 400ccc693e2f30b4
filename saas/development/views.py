"""``/dev/inbox``: the development inbox's pages (registered only when ``SAAS_ENV=development``)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from saas.development.inbox import INBOX_FOLDER, DevInbox
from saas.errors import NotFound

dev_inbox_pages = Blueprint("dev_inbox", __name__, template_folder="templates")


def _inbox() -> DevInbox:
    return DevInbox(current_app.config["SAAS_SETTINGS"].instance_dir / INBOX_FOLDER)


@dev_inbox_pages.get("/dev/inbox")
def inbox():
    return render_template("development/inbox.html", messages=_inbox().messages())


@dev_inbox_pages.get("/dev/inbox/<message_id>")
def message(message_id: str):
    found = _inbox().message(message_id)
    if found is None:
        raise NotFound("No such message in the development inbox.")
    return render_template("development/message.html", message=found)


@dev_inbox_pages.post("/dev/inbox/empty")
def empty():
    _inbox().empty()
    return redirect(url_for("dev_inbox.inbox"))
