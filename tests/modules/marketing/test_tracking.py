"""Tracking and unsubscribe: signed links only (tampered, foreign, unknown → 404), redirects only to the
campaign's own links, events on the contact's timeline, one-click unsubscribe into the consent ledger."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from saas.db import db, tenant_session
from saas.modules.core.activities import activities
from saas.modules.core.models import Contact
from saas.modules.marketing import campaigns, tracking
from saas.modules.marketing.models import CampaignLink, CampaignRecipient
from saas.modules.privacy.consent import consent_state, may_contact
from saas.modules.switches import set_module_enabled
from tests.conftest import login
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    run_jobs,
    schedule_now,
    sender_settings,
)
from tests.privacy.conftest import sign_in_to_center


def _sent_campaign(fixture, sink, count: int = 2) -> tuple[str, dict]:
    people = add_people(fixture, {"granted": count})
    sender_settings(fixture)
    campaign_id = make_campaign(fixture)
    schedule_now(fixture, campaign_id)
    run_jobs()
    return campaign_id, people


def _links(message) -> dict[str, str]:
    """The message's tracking URLs as paths: pixel, click, unsubscribe."""
    html = message.get_body(("html",)).get_content()
    found = {
        "open": re.search(r'src="http://localhost(/m/[^"]+\.gif)"', html).group(1),
        "click": re.search(r'href="http://localhost(/m/[^"]+/c/[^"]+)"', html).group(1),
        "unsubscribe": message["List-Unsubscribe"].strip().strip("<>").removeprefix("http://localhost"),
    }
    return found


def _contact_id(fixture, email: str) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(Contact.id).where(Contact.email == email))


def _timeline(fixture, contact_id: uuid.UUID) -> list[str]:
    with tenant_session(fixture.ref) as session:
        return [entry.subject for entry in activities.list(session, contact_id=contact_id).data]


def test_open_and_click_are_recorded_on_the_contacts_timeline_and_in_the_report(tenant_a, mail_sink, client):
    campaign_id, people = _sent_campaign(tenant_a, mail_sink)
    message = mail_sink.to(people["granted"][0])[0]
    links = _links(message)

    pixel = client.get(links["open"])
    assert pixel.status_code == 200 and pixel.mimetype == "image/gif"
    assert client.get(links["open"]).status_code == 200  # a second open changes nothing
    click = client.get(links["click"])
    assert click.status_code == 302 and click.headers["Location"] == "https://acme.example/offer?x=1&y=2"

    contact_id = _contact_id(tenant_a, people["granted"][0])
    timeline = _timeline(tenant_a, contact_id)
    assert timeline.count("Opened email: News for {{ first_name }}") == 1
    assert "Clicked a link in: News for {{ first_name }}" in timeline
    # The other recipient's timeline shows nothing of this person's opens.
    assert _timeline(tenant_a, _contact_id(tenant_a, people["granted"][1])) == []
    with tenant_session(tenant_a.ref) as session:
        report = campaigns.campaign_report(session, uuid.UUID(campaign_id))
    assert (report.sent, report.delivered, report.opened, report.clicked, report.unsubscribed) == (
        2,
        2,
        1,
        1,
        0,
    )
    assert report.timeline and report.timeline[-1]["opened"] == 1


def _tampered(path: str) -> str:
    head, token = path.rsplit("/", 1)
    suffix = ".gif" if token.endswith(".gif") else ""
    token = token.removesuffix(".gif")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    return f"{head}/{flipped}{suffix}"


def test_tampered_foreign_and_unknown_tokens_are_404_and_never_redirect(
    app, tenant_a, tenant_b, mail_sink, client
):
    _, people = _sent_campaign(tenant_a, mail_sink)
    links = _links(mail_sink.to(people["granted"][0])[0])
    for kind, path in links.items():
        assert client.get(_tampered(path)).status_code == 404, kind
        other_tenant = path.replace(f"/m/{tenant_a.slug}/", f"/m/{tenant_b.slug}/")
        assert client.get(other_tenant).status_code == 404, kind
    # Each kind has its own signature: an open token does not work as a click or an unsubscribe.
    open_token = links["open"].rsplit("/", 1)[1].removesuffix(".gif")
    assert client.get(f"/m/{tenant_a.slug}/c/{open_token}").status_code == 404
    assert client.post(f"/m/{tenant_a.slug}/u/{open_token}").status_code == 404
    with app.test_request_context():
        unknown = tracking.make_token("click", tenant_a.tenant.id, 10**12, 1)
        with tenant_session(tenant_a.ref) as session:
            recipient = session.scalar(select(CampaignRecipient.id).limit(1))
            other_link = session.scalar(select(CampaignLink.id).order_by(CampaignLink.id.desc()).limit(1))
        foreign_link = tracking.make_token("click", tenant_a.tenant.id, recipient, other_link + 1000)
        open_redirect = client.get(f"/m/{tenant_a.slug}/c/{foreign_link}?next=https://evil.example")
    assert client.get(f"/m/{tenant_a.slug}/c/{unknown}").status_code == 404
    assert open_redirect.status_code == 404 and "Location" not in open_redirect.headers
    assert client.get("/m/no-such-tenant/o/x.gif").status_code == 404


def test_one_click_unsubscribe_withdraws_consent_on_the_timeline_and_in_the_privacy_center(
    app, tenant_a, mail_sink, client
):
    campaign_id, people = _sent_campaign(tenant_a, mail_sink)
    email = people["granted"][0]
    unsubscribe = _links(mail_sink.to(email)[0])["unsubscribe"]
    page = client.get(unsubscribe)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Unsubscribe" in page.text
    contact_id = _contact_id(tenant_a, email)
    with tenant_session(tenant_a.ref) as session:
        assert may_contact(session, contact_id, "email_marketing")

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", without cookies or CSRF token.
    done = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with tenant_session(tenant_a.ref) as session:
        assert not may_contact(session, contact_id, "email_marketing")
        event = consent_state(session, contact_id)["email_marketing"]
        assert (event.status, event.source, event.actor) == ("withdrawn", "unsubscribe", "data_subject")
        report = campaigns.campaign_report(session, uuid.UUID(campaign_id))
    assert report.unsubscribed == 1
    assert "Unsubscribed from email marketing" in _timeline(tenant_a, contact_id)

    center = app.test_client()
    mail_sink.messages.clear()  # the center's sign-in link is the only mail to this person now
    sign_in_to_center(center, mail_sink, tenant_a.slug, email)
    home = center.get(f"/hub/{tenant_a.slug}/home").text
    row = re.search(r"Email marketing.*?</tr>", home, re.S).group(0)
    assert "withdrawn" in row

    # A second campaign leaves the person out.
    mail_sink.messages.clear()
    schedule_now(tenant_a, make_campaign(tenant_a, name="Second"))
    run_jobs()
    assert {m["To"] for m in mail_sink.messages} == {people["granted"][1]}


def test_unsubscribe_is_rate_limited_per_client(app, tenant_a, mail_sink, client, monkeypatch):
    monkeypatch.setitem(app.config, "MARKETING_PUBLIC_RATE_LIMIT", "2 per minute")
    _sent_campaign(tenant_a, mail_sink, count=1)
    unsubscribe = _links(mail_sink.messages[0])["unsubscribe"]
    codes = [
        client.post(unsubscribe, environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_module_off_tracking_links_answer_404_and_work_again_when_on(tenant_a, mail_sink, client):
    _sent_campaign(tenant_a, mail_sink, count=1)
    links = _links(mail_sink.messages[0])
    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", False, actor="test")
    db.session.commit()
    assert client.get(links["open"]).status_code == 404
    assert client.get(links["click"]).status_code == 404
    assert client.post(links["unsubscribe"]).status_code == 404
    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", True, actor="test")
    db.session.commit()
    assert client.get(links["click"]).status_code == 302


def test_report_page_shows_the_figures_and_a_chart(tenant_a, mail_sink, client):
    campaign_id, people = _sent_campaign(tenant_a, mail_sink)
    client.get(_links(mail_sink.to(people["granted"][0])[0])["open"])
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{campaign_id}/report")
    assert page.status_code == 200
    assert "<strong>2</strong> sent" in page.text and "<strong>1</strong> opened" in page.text
    assert "<svg" in page.text
