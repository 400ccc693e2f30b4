"""The development inbox: every mail of a ``saas dev`` instance is kept and listed at /dev/inbox with
clickable links; no other environment has the page."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from saas import create_app
from saas.development.inbox import INBOX_FOLDER, DevInbox, start_inbox_server
from saas.mail import send_mail
from saas.observability import ROUTINE_LOGGERS


def _app_in(app, environment: str, instance_dir):
    settings = dataclasses.replace(
        app.config["SAAS_SETTINGS"],
        environment=environment,
        instance_dir=instance_dir,
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
    )
    built = create_app(settings)
    built.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    return built


@pytest.fixture
def development_app(app, tmp_path):
    # A development app quiets routine loggers process-wide; other tests in this process read them.
    levels = {name: logging.getLogger(name).level for name in ROUTINE_LOGGERS}
    built = _app_in(app, "development", tmp_path)
    controller, url = start_inbox_server(DevInbox(tmp_path / INBOX_FOLDER))
    built.config["SMTP_URL"] = url
    yield built
    controller.stop()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_no_environment_but_development_has_the_inbox(app, tmp_path, monkeypatch, environment):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    built = _app_in(app, environment, tmp_path)
    assert not [rule for rule in built.url_map.iter_rules() if rule.rule.startswith("/dev/")]
    assert built.test_client().get("/dev/inbox").status_code == 404


def test_a_mail_sent_in_development_is_listed_with_its_links_clickable_and_its_text_escaped(
    development_app,
):
    with development_app.app_context():
        assert send_mail(
            "ada@acme.example",
            "Your link <script>",
            "Open https://crm.example/p/demo/enter/abc.def?x=1 within the hour.\n<b>not bold</b>",
        )
    client = development_app.test_client()

    listing = client.get("/dev/inbox").get_data(as_text=True)
    assert "ada@acme.example" in listing and "Your link &lt;script&gt;" in listing
    assert '<a href="https://crm.example/p/demo/enter/abc.def?x=1">' in listing

    [message] = DevInbox(development_app.config["SAAS_SETTINGS"].instance_dir / INBOX_FOLDER).messages()
    page = client.get(f"/dev/inbox/{message.id}").get_data(as_text=True)
    assert '<a href="https://crm.example/p/demo/enter/abc.def?x=1">' in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page and "<b>not bold" not in page

    assert client.get("/dev/inbox/../../secret_key").status_code == 404
    assert client.get("/dev/inbox/1234").status_code == 404
    assert client.post("/dev/inbox/empty").status_code == 302
    assert "No mail yet" in client.get("/dev/inbox").get_data(as_text=True)
