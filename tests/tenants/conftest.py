"""Signing up through the public pages as a person does: the form, the mailed link, the password."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from saas.jobs import make_worker
from tests.conftest import PASSWORD, csrf_token_from
from tests.mailsink import MailSink, mail_sink  # noqa: F401  (the shared SMTP sink fixture)


def ask_to_sign_up(client: FlaskClient, **fields: str | None):
    """Post the signup form (terms accepted unless ``accept_terms=None``); the page it answers."""
    page = client.get("/signup")
    data = {"csrf_token": csrf_token_from(page.text), "accept_terms": "1", **fields}
    return client.post("/signup", data={k: v for k, v in data.items() if v is not None})


def mailed_signup_path(sink: MailSink, email: str) -> str:
    make_worker().work(burst=True)
    [message] = [m for m in sink.to(email) if "Confirm your new CRM workspace" in m["Subject"]]
    match = re.search(r"https?://[^/\s]+(/signup/confirm/\S+)", message.get_content())
    assert match, "the mail holds no signup link"
    return match.group(1)


def choose_password(client: FlaskClient, path: str, password: str = PASSWORD):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token_from(page.text), "admin_password": password})


def sign_up(client: FlaskClient, sink: MailSink, password: str = PASSWORD, **fields: str):
    """The whole signup; the answer to the password's POST (a redirect to the new dashboard)."""
    answer = ask_to_sign_up(client, **fields)
    assert answer.status_code == 200, answer.text
    return choose_password(client, mailed_signup_path(sink, fields["admin_email"]), password)
