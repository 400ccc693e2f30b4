"""Privacy fixtures: a real SMTP sink (aiosmtpd) on loopback, people in tenants, the center's sign-in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from saas.db import tenant_session
from saas.embedded import free_loopback_port as _free_port  # noqa: F401  (other conftests import it from here)
from saas.jobs import make_worker
from saas.modules.core import services
from tests.conftest import TenantFixture, csrf_token_from
from tests.mailsink import MailSink, mail_sink  # noqa: F401  (the shared SMTP sink fixture)


def add_contact(fixture: TenantFixture, **data) -> str:
    with tenant_session(fixture.ref) as session:
        return str(services.contacts.create(session, data).id)


def request_link(client: FlaskClient, slug: str, email: str):
    page = client.get(f"/hub/{slug}/")
    return client.post(f"/hub/{slug}/", data={"email": email, "csrf_token": csrf_token_from(page.text)})


def mailed_token(sink: MailSink, email: str) -> str:
    make_worker().work(burst=True)
    [message] = sink.to(email)
    match = re.search(r"/enter/(\S+)", message.get_content())
    assert match, "the mail holds no link"
    return match.group(1)


def enter_center(client: FlaskClient, slug: str, token: str):
    page = client.get(f"/hub/{slug}/enter/{token}")
    if page.status_code != 200:
        return page
    return client.post(f"/hub/{slug}/enter/{token}", data={"csrf_token": csrf_token_from(page.text)})


def sign_in_to_center(client: FlaskClient, sink: MailSink, slug: str, email: str) -> None:
    request_link(client, slug, email)
    response = enter_center(client, slug, mailed_token(sink, email))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/hub/{slug}/home")
