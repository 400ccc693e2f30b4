"""A tracked email joins a visitor: a followed campaign link into a listed site carries a signed mark
(links to other sites do not), and the script's next batch with that mark joins the browser to the
recipient; a tampered mark, or one of another workspace, joins nobody."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.website.models import WebsiteVisitor
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture)
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    run_jobs,
    schedule_now,
    sender_settings,
)
from tests.modules.website.conftest import list_site

SHOP = "https://acme.example"  # the campaign's link is https://acme.example/offer?x=1&y=2


def _followed(client, fixture, sink) -> tuple[str, str]:
    """Send the campaign to one person and follow their link: (their email, where the link went)."""
    people = add_people(fixture, {"granted": 1})
    sender_settings(fixture)
    schedule_now(fixture, make_campaign(fixture))
    run_jobs()
    email = people["granted"][0]
    html = sink.to(email)[0].get_body(("html",)).get_content()
    click = re.search(r'href="http://localhost(/m/[^"]+/c/[^"]+)"', html).group(1)
    response = client.get(click)
    assert response.status_code == 302
    return email, response.headers["Location"]


def _batch(client, slug: str, visitor: uuid.UUID, mark: str | None, origin: str = SHOP):
    body = {
        "visitor": str(visitor),
        "session": str(uuid.uuid4()),
        "events": [{"path": "/offer"}],
        "ident": mark,
    }
    return client.post(f"/w/{slug}/events", data=json.dumps(body), headers={"Origin": origin})


def test_a_followed_link_into_the_site_joins_the_visitor_to_the_recipient(client, tenant_a, mail_sink):  # noqa: F811
    list_site(tenant_a, SHOP)
    email, location = _followed(client, tenant_a, mail_sink)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert (parts.netloc, parts.path, query["x"], query["y"]) == ("acme.example", "/offer", ["1"], ["2"])
    visitor = uuid.uuid4()
    assert _batch(client, tenant_a.slug, visitor, query["ocrm_ident"][0]).status_code == 202
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == email))
        assert session.get(WebsiteVisitor, visitor).contact_id == contact_id


def test_a_link_to_an_unlisted_site_carries_no_mark(client, tenant_a, mail_sink):  # noqa: F811
    list_site(tenant_a, "https://other.example")
    _, location = _followed(client, tenant_a, mail_sink)
    assert location == "https://acme.example/offer?x=1&y=2"


def test_a_tampered_or_foreign_mark_joins_nobody(client, tenant_a, tenant_b, mail_sink):  # noqa: F811
    list_site(tenant_a, SHOP)
    list_site(tenant_b, SHOP)
    _, location = _followed(client, tenant_a, mail_sink)
    mark = parse_qs(urlsplit(location).query)["ocrm_ident"][0]
    tampered, foreign = uuid.uuid4(), uuid.uuid4()
    assert _batch(client, tenant_a.slug, tampered, mark[:-2] + "xx").status_code == 202
    assert _batch(client, tenant_b.slug, foreign, mark).status_code == 202  # A's mark sent to B
    with tenant_session(tenant_a.ref) as session:
        assert session.get(WebsiteVisitor, tampered).contact_id is None
    with tenant_session(tenant_b.ref) as session:
        assert session.get(WebsiteVisitor, foreign).contact_id is None
